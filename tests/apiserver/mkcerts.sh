#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mkcerts.sh DIR - create a throw-away PKI for the fake Kubernetes API server.
#
# Files written into DIR (created if missing):
#   ca.crt ca.key                 test CA ("agentfence-test-ca")
#   server.crt server.key         server cert, SAN IP:127.0.0.1 + DNS:localhost
#   client.crt client.key         client cert, CN=agentfence-test, O=system:masters
#                                 (kube-apiserver maps CN -> user, O -> groups)
#   untrusted-ca.crt/.key         a second, unrelated CA
#   untrusted-client.crt/.key     client cert signed by the untrusted CA
#                                 (for "client cert from wrong CA" tests)
#
# Keys are EC P-256 (fast to generate). Existing files are overwritten.
# Needs only the openssl CLI.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

days=3650
umask 077

newkey() {
    openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null
}

# --- CA ----------------------------------------------------------------
mkca() { # name subject
    newkey "$1.key"
    openssl req -x509 -new -key "$1.key" -out "$1.crt" -days "$days" \
        -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash"
}

# --- leaf signed by a CA -----------------------------------------------
mkleaf() { # name subject ca extfile-content
    newkey "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "$2"
    printf '%s\n' "$4" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" \
        -CAcreateserial -out "$1.crt" -days "$days" -extfile "$1.ext" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

mkca ca "/CN=agentfence-test-ca"
mkleaf server "/CN=localhost" ca \
"basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
mkleaf client "/O=system:masters/CN=agentfence-test" ca \
"basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

mkca untrusted-ca "/CN=agentfence-untrusted-ca"
mkleaf untrusted-client "/O=system:masters/CN=intruder" untrusted-ca \
"basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

rm -f ./*.srl
# Certificates are public; keys stay 0600.
chmod 644 ./*.crt
