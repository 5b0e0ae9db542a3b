# SPDX-License-Identifier: Apache-2.0
# The agentfence image: the binary and the shared libraries it loads, on
# distroless (no shell, no package manager), as user 65532. Its
# entrypoint is agentfence, so a Pod gives only args: `probe --wait 30s`
# (the init container the profile's spec.probe.image adds), or `apply ...`.
#
#   docker build -t agentfence .
#   docker run --rm agentfence version
#
# tests/test_dockerfile.py checks RUNTIME_PKGS against what the binary
# links (ldd build/agentfence) and that every source folder is copied.

# --- build: Debian's packages, as README's Install says ---
FROM debian:bookworm AS build
# the packages of the libraries the binary links (libc6 comes with the base image)
ARG RUNTIME_PKGS="libyaml-0-2 libjansson4 libcurl4"
RUN apt-get update && \
    apt-get install -y --no-install-recommends gcc make libc6-dev libyaml-dev libjansson-dev \
        libcurl4-openssl-dev $RUNTIME_PKGS && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY compiler/ compiler/
COPY cluster/ cluster/
COPY probe/ probe/
COPY templates/ templates/
COPY schema/ schema/
COPY tests/embed.sh tests/
RUN make all && build/agentfence version
# the root of the runtime image: the binary, and every library ldd finds
# for it except glibc's own (the base image has the same bookworm glibc),
# in /usr/lib/<multiarch>, a directory the loader searches and a real one
# whether or not the base image merged /lib into /usr
RUN lib=/rootfs/usr/lib/$(gcc -print-multiarch) && mkdir -p "$lib" && \
    cp build/agentfence /rootfs/agentfence && \
    ldd build/agentfence | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | \
        grep -Ev '/(libc|libm|libdl|libpthread|librt|libresolv)\.so|/ld-linux' | \
        xargs -r cp -L -t "$lib"

# --- run: distroless base (glibc, CA certificates, /etc/passwd with nonroot) ---
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/agentfence"]
CMD ["--help"]
