# SPDX-License-Identifier: Apache-2.0
"""Every row of the IANA IPv4 and IPv6 Special-Purpose Address Registries
(tests/data/iana-*.csv, provenance in tests/data/SOURCES.md) against the
compiler.

For each row: its "Globally Reachable" verdict, the catalogue entry of
compiler/catalog.c that blocks it (itself or a wider one) or "open", and
what a `public` agent compiled by the real binary reaches there, judged by
the independent NetworkPolicy evaluator (netpol.py), under a dual-stack
profile (tests/tools/profiles/dual-stack.yaml) and an IPv6-only profile with NAT64 (where an
IPv4 row is reached through its NAT64 image, 64:ff9b::/96 + the address).

Fails when a row that is not globally reachable (False, N/A, or blank for a
terminated row) is reachable in either profile, when a row the catalogue
leaves open is not reachable (so the evaluator can tell the two apart), when
the catalogue's treatment of a row differs from EXPECTED, or when the files
change (their sha256 is in SOURCES.md; their rows must be exactly those of
EXPECTED).

Run from the repository root:
    python3 -m unittest tests/tools/test_iana.py
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402
import netpol as N  # noqa: E402

# Each row's block, as written in the registry, and the catalogue entry that
# blocks it ("open" when none does). A row added, dropped or changed upstream
# fails the test until it is reviewed here.
EXPECTED = {
    4: {
        "0.0.0.0/8": "0.0.0.0/8",
        "0.0.0.0/32": "0.0.0.0/8",
        "10.0.0.0/8": "10.0.0.0/8",
        "100.64.0.0/10": "100.64.0.0/10",
        "127.0.0.0/8": "127.0.0.0/8",
        "169.254.0.0/16": "169.254.0.0/16",
        "172.16.0.0/12": "172.16.0.0/12",
        "192.0.0.0/24 [2]": "192.0.0.0/24",
        "192.0.0.0/29": "192.0.0.0/24",
        "192.0.0.8/32": "192.0.0.0/24",
        "192.0.0.9/32": "192.0.0.0/24",        # globally reachable, inside 192.0.0.0/24
        "192.0.0.10/32": "192.0.0.0/24",       # globally reachable, inside 192.0.0.0/24
        "192.0.0.170/32, 192.0.0.171/32": "192.0.0.0/24",
        "192.0.2.0/24": "192.0.2.0/24",
        "192.31.196.0/24": "open",             # AS112-v4
        "192.52.193.0/24": "open",             # AMT
        "192.88.99.0/24": "192.88.99.0/24",    # terminated: blank verdict
        "192.88.99.2/32": "192.88.99.0/24",
        "192.168.0.0/16": "192.168.0.0/16",
        "192.175.48.0/24": "open",             # AS112 direct delegation
        "198.18.0.0/15": "198.18.0.0/15",
        "198.51.100.0/24": "198.51.100.0/24",
        "203.0.113.0/24": "203.0.113.0/24",
        "240.0.0.0/4": "240.0.0.0/4",
        "255.255.255.255/32": "240.0.0.0/4",
    },
    6: {
        "::1/128": "::1/128",
        "::/128": "::/128",
        "::ffff:0:0/96": "::ffff:0:0/96",
        "64:ff9b::/96": "64:ff9b::/96",        # globally reachable; opened per range with nat64
        "64:ff9b:1::/48": "64:ff9b:1::/48",
        "100::/64": "100::/64",
        "100:0:0:1::/64": "100:0:0:1::/64",
        "2001::/23": "2001::/23",
        "2001::/32": "2001::/23",              # Teredo: N/A
        "2001:1::1/128": "2001::/23",          # globally reachable, inside 2001::/23
        "2001:1::2/128": "2001::/23",
        "2001:1::3/128": "2001::/23",
        "2001:2::/48": "2001::/23",
        "2001:3::/32": "2001::/23",
        "2001:4:112::/48": "2001::/23",
        "2001:10::/28": "2001::/23",
        "2001:20::/28": "2001::/23",
        "2001:30::/28": "2001::/23",
        "2001:db8::/32": "2001:db8::/32",
        "2002::/16 [3]": "2002::/16",          # 6to4: N/A
        "2620:4f:8000::/48": "open",           # AS112 direct delegation
        "3fff::/20": "3fff::/20",
        "5f00::/16": "5f00::/16",
        "fc00::/7": "fc00::/7",
        "fe80::/10": "fe80::/10",
    },
}

IPV6_PROFILE = str(H.PROFILES_DIR / "ipv6-only-nat64.yaml")
DUAL_PROFILE = str(H.PROFILES_DIR / "dual-stack.yaml")
PROBES = [("TCP", 443), ("UDP", 53), ("TCP", 80)]
LISTING = []


def catalogue() -> dict:
    """The entries of compiler/catalog.c, per family (read only to name the
    entry that blocks a row; what is blocked is judged on compiled output)."""
    text = (H.REPO / "compiler" / "catalog.c").read_text()
    out = {4: [], 6: []}
    for fam in (4, 6):
        body = re.search(r"catalog_v%d\[\] = \{(.*?)\n\};" % fam, text, re.S).group(1)
        out[fam] = [H.net(c) for c in re.findall(r'\{ "([^"]+)", "', body)]
    return out


def treatment(row: H.IanaRow, cat: dict) -> str:
    """The narrowest catalogue entry holding every block of the row, or "open"."""
    holders = [e for e in cat[row.family] if all(n.subnet_of(e) for n in row.networks)]
    return str(min(holders, key=lambda e: e.num_addresses)) if holders else "open"


def nat64_image(a: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(int(H.NAT64.network_address) | int(a))


class World:
    """One public agent compiled under one profile, its NetworkPolicies loaded."""

    def __init__(self, profile_path):
        self.profile = H.load_profile(profile_path)
        d = H.tmpdir("iana-" + Path(profile_path).stem)
        spec = d / "agent.yaml"
        H.dump_specs([H._agent("iana-probe", "agents", {"mode": "public"})], spec)
        objs = H.load_yaml_stream(H.compile_raw(str(spec), profile_path))
        policies = [o for o in objs if N.is_network_policy(o)]
        pod = next(o for o in objs if o.get("kind") == "Pod")
        self.ev = N.Evaluator(policies, N.Pod(N.Namespace("agents"),
                                              dict(pod["metadata"].get("labels") or {}),
                                              None, pod["metadata"]["name"]))

    def reachable(self, a) -> list:
        """The (destination, protocol, port) triples the agent reaches at a
        (an IPv4 address through its NAT64 image in an IPv6-only cluster)."""
        dests = [a]
        if a.version == 4 and 4 not in self.profile.families():
            dests = [nat64_image(a)] if self.profile.nat64 else []
        return [(str(d), pr, po) for d in dests for pr, po in PROBES if self.ev.egress(d, pr, po)]


def sha256s() -> dict:
    text = (H.DATA_DIR / "SOURCES.md").read_text()
    return dict((f, h) for h, f in re.findall(r"^sha256 ([0-9a-f]{64})  (\S+)$", text, re.M))


def setUpModule():
    global WORLDS, CAT
    CAT = catalogue()
    WORLDS = {"dual-stack": World(DUAL_PROFILE), "ipv6-nat64": World(IPV6_PROFILE)}


def tearDownModule():
    if LISTING:
        sys.stderr.write("\n[test_iana] every registry row: verdict, catalogue, reached by a "
                         "public agent (dual-stack / ipv6-nat64)\n")
        for line in LISTING:
            sys.stderr.write("  " + line + "\n")


class TestRegistryFiles(unittest.TestCase):
    def test_files_are_the_saved_ones(self):
        sums = sha256s()
        for fam, path in H.IANA_FILES.items():
            with self.subTest(file=path.name):
                self.assertIn(path.name, sums, "no sha256 line in tests/data/SOURCES.md")
                self.assertEqual(hashlib.sha256(path.read_bytes()).hexdigest(), sums[path.name])

    def test_rows_are_the_expected_ones(self):
        for fam in (4, 6):
            rows = [r.block for r in H.iana_rows(fam)]
            with self.subTest(family=fam):
                self.assertEqual(len(rows), len(EXPECTED[fam]),
                                 "the registry file's row count changed: review EXPECTED")
                self.assertEqual(rows, list(EXPECTED[fam]))

    def test_verdicts_are_known_words(self):
        for fam in (4, 6):
            for r in H.iana_rows(fam):
                self.assertRegex(r.reachable, r"^(True|False|N/A)?( \[\d+\])?$", r.block)


class TestEveryRow(unittest.TestCase):
    def test_catalogue_treatment(self):
        for fam in (4, 6):
            for r in H.iana_rows(fam):
                with self.subTest(row=r.block):
                    got = treatment(r, CAT)
                    self.assertEqual(got, EXPECTED[fam][r.block])
                    if not r.globally_reachable:
                        self.assertNotEqual(got, "open", f"{r.block} ({r.name}) is not globally "
                                            f"reachable ({r.reachable or 'blank'}) yet no catalogue "
                                            "entry holds it")

    def test_compiled_public_policy(self):
        for fam in (4, 6):
            for r in H.iana_rows(fam):
                cat = treatment(r, CAT)
                seen = {}
                for wname, w in WORLDS.items():
                    hits = [h for n in r.networks for a in H.sample(n) for h in w.reachable(a)]
                    seen[wname] = "reached " + ", ".join(sorted({h[0] for h in hits})) if hits \
                        else "unreachable"
                    with self.subTest(row=r.block, profile=wname):
                        if r.networks == [H.NAT64] and w.profile.nat64:
                            # opened per range with nat64: a public IPv4 address's image is
                            # reached, the images of the blocked rows are not (the IPv4 rows)
                            self.assertTrue(w.reachable(nat64_image(H.addr("8.8.8.8"))))
                            seen[wname] = "images of public IPv4 addresses only"
                        elif not r.globally_reachable or cat != "open":
                            self.assertEqual(hits, [], f"{r.block} ({r.name}, Globally Reachable: "
                                             f"{r.reachable or 'blank'}, catalogue: {cat}): a "
                                             f"public agent reaches it under {wname}")
                        elif fam == 6 or 4 in w.profile.families() or w.profile.nat64:
                            # open rows must really be open: the evaluator sees the difference
                            self.assertTrue(hits, f"{r.block} is open in the catalogue yet "
                                            f"unreachable under {wname}")
                LISTING.append(f"IPv{fam} {r.block:32} {r.reachable or 'blank':9} "
                               f"{'open' if cat == 'open' else 'blocked by ' + cat:28} "
                               f"{seen['dual-stack']} / {seen['ipv6-nat64']}  ({r.name})")


if __name__ == "__main__":
    unittest.main()
