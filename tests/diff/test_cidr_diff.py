# SPDX-License-Identifier: Apache-2.0
"""Differential tests: compiler/cidr.c against Python's ipaddress.

Tens of thousands of generated strings (valid spellings and near misses)
go through tests/diff/cidr_driver; each answer must be the one Python's
ipaddress gives, once the known, intended differences are accounted for:

- we are STRICTER (Kubernetes' strict CIDR reading): a prefix needs its
  "/LEN" (ipaddress takes "1.2.3.4" as /32), takes no zone ("fe80::1%eth0",
  which ipaddress keeps as a scope id), no leading zero in the length
  ("/024"), and no netmask for a length ("/255.255.255.0");
- we print IPv4-mapped addresses in RFC 5952's mixed form
  (::ffff:1.2.3.4) where ipaddress (before 3.13) prints ::ffff:102:304.

Everything else must agree: accept/refuse, the canonical text, the masked
prefix named on a host-bits error, and prefix subtraction and merging
against address_exclude() and collapse_addresses(). The seed is fixed, so
a failure is reproducible; it prints the input.
"""
import ipaddress
import os
import random
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AGENTFENCE", os.path.join(ROOT, "build", "agentfence"))
DRIVER = os.environ.get("CIDR_DRIVER", os.path.join(os.path.dirname(BIN), "cidr_driver"))
SEED = 20261128

# cidr.h's codes
OK, SYNTAX, NOPREFIX, PREFIX, LEADZERO, HOSTBITS, ZONE, SPACE = 0, -1, -2, -3, -4, -5, -6, -7
WHITE = set(b" \t\n\v\f\r")
MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def run(mode, lines):
    data = b"".join(line + b"\n" for line in lines)
    r = subprocess.run([DRIVER, mode], input=data, capture_output=True, check=True)
    out = r.stdout.decode().split("\n")
    assert out[-1] == "" and len(out) == len(lines) + 1, (mode, len(out), len(lines))
    return out[:-1]


def canon_addr(a):
    """Our canonical text of an ipaddress address."""
    if a.version == 6 and a in MAPPED:
        return "::ffff:" + ".".join(str(b) for b in a.packed[12:])
    return str(a)


def canon(net):
    return "%s/%d" % (canon_addr(net.network_address), net.prefixlen)


def py_addr(t):
    """ipaddress' reading of a bare address, or None. No zones: we take none."""
    if "%" in t:
        return None
    try:
        return ipaddress.ip_address(t)
    except ValueError:
        return None


def strip_leading_zeros_v4(t):
    """'010.1.2.3' -> '10.1.2.3' when that is all that is wrong, else None."""
    parts = t.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    fixed = ".".join(p.lstrip("0") or "0" for p in parts)
    return fixed if fixed != t else None


def expect_addr(s):
    """(code, text) we must give for cidr_parse_addr(s); code None: any error."""
    if WHITE & set(s):
        return SPACE, None
    try:
        t = s.decode("ascii")
    except UnicodeDecodeError:
        return None, None
    if "\0" in t:
        return None, None
    if "%" in t:
        # intended: ipaddress keeps a zone as a scope id, we refuse it
        base = t.split("%", 1)[0]
        a = py_addr(base)
        return (ZONE if a is not None and a.version == 6 else None), None
    a = py_addr(t)
    if a is not None:
        return OK, canon_addr(a)
    if strip_leading_zeros_v4(t) and py_addr(strip_leading_zeros_v4(t)):
        return LEADZERO, None
    return None, None


def expect_prefix(s):
    """(code, text) we must give for cidr_parse(s)."""
    if WHITE & set(s):
        return SPACE, None
    try:
        t = s.decode("ascii")
    except UnicodeDecodeError:
        return None, None
    if "\0" in t:
        return None, None
    if "/" not in t:
        # intended: ipaddress reads a bare address as a host prefix
        code, _ = expect_addr(s)
        return (NOPREFIX if code == OK else code), None
    a_text, _, p = t.rpartition("/")
    code, _ = expect_addr(a_text.encode())
    if code != OK:
        return code, None
    a = py_addr(a_text)
    bits = 32 if a.version == 4 else 128
    # intended: no leading zero, no sign, no netmask form in the length
    if not (p.isascii() and p.isdigit()) or len(p) > 3 or (len(p) > 1 and p[0] == "0") \
            or int(p) > bits:
        return PREFIX, None
    try:
        return OK, canon(ipaddress.ip_network(t, strict=True))
    except ValueError:
        return HOSTBITS, canon(ipaddress.ip_network(t, strict=False))


# --- generators ---

def v4_text(rng):
    return ".".join(str(rng.choice([0, 1, 9, 10, 99, 100, 127, 169, 192, 254, 255,
                                     rng.randrange(256)])) for _ in range(4))


def v6_groups(rng):
    g = [rng.choice([0, 0, 0, 1, 0xffff, 0xfe80, 0x2001, 0x64, rng.randrange(0x10000)])
         for _ in range(8)]
    style = rng.randrange(5)
    if style == 0:
        g[:5], g[5] = [0] * 5, 0xffff     # IPv4-mapped
    elif style == 1:
        g[:6] = [0] * 6                    # IPv4-compatible
    elif style == 2:
        k = rng.randrange(8)
        for i in range(k, min(8, k + rng.randrange(1, 8))):
            g[i] = 0
    return g


def v6_spellings(rng, g):
    """Valid texts of the same address: canonical, uncompressed, other runs compressed,
    leading zeros, upper case, embedded IPv4."""
    out = [str(ipaddress.IPv6Address(bytes(b for x in g for b in (x >> 8, x & 255))))]
    out.append(":".join("%x" % x for x in g))
    out.append(":".join("%04x" % x for x in g))
    runs = [(i, j) for i in range(8) for j in range(i + 1, 9) if all(x == 0 for x in g[i:j])]
    for i, j in rng.sample(runs, min(3, len(runs))):
        out.append(":".join("%x" % x for x in g[:i]) + "::" + ":".join("%x" % x for x in g[j:]))
    v4 = "%d.%d.%d.%d" % (g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255)
    out.append(":".join("%x" % x for x in g[:6]) + ":" + v4)
    zr = [(i, j) for (i, j) in runs if j <= 6]
    if zr:
        i, j = rng.choice(zr)
        out.append(":".join("%x" % x for x in g[:i]) + "::" + ":".join("%x" % x for x in g[j:6])
                   + (":" if j < 6 else "") + v4)
    out.append(rng.choice(out).upper())
    return out


def with_prefix(rng, addr_text, bits, host_bits_ok=True):
    a = ipaddress.ip_address(addr_text)
    n = rng.randrange(bits + 1)
    if not host_bits_ok or rng.random() < 0.6:
        net = ipaddress.ip_network("%s/%d" % (a, n), strict=False)
        a_text = addr_text if net.network_address == a else str(net.network_address)
        return "%s/%d" % (a_text, n)
    return "%s/%d" % (addr_text, n)


MUTATE_CHARS = "0123456789abcdefABCDEF:./%x g-+\t"


def mutate(rng, s):
    s = list(s)
    for _ in range(rng.randrange(1, 3)):
        op = rng.randrange(4)
        k = rng.randrange(len(s) + 1)
        if op == 0 and s:
            del s[min(k, len(s) - 1)]
        elif op == 1:
            s.insert(k, rng.choice(MUTATE_CHARS))
        elif op == 2 and s:
            s[min(k, len(s) - 1)] = rng.choice(MUTATE_CHARS)
        else:
            s.insert(k, s[min(k, len(s) - 1)] if s else "0")
    return "".join(s)


NEAR_MISSES = [
    "", "/", "/0", "1.2.3.4/", "1.2.3.4//32", "1.2.3.4/32/32", "1.2.3.4/33", "::/129",
    "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.0/024", "1.2.3.0/00", "::/000", "1.2.3.0/255.255.255.0",
    "01.2.3.4/32", "1.02.3.4/32", "1.2.3.00/32", "0.0.0.0/0", "00.0.0.0/0", "1.2.3/24",
    "1.2.3.4.5/32", "256.1.1.1/32", "1.2.3.4 /32", " 1.2.3.4/32", "1.2.3.4/32 ", "1.2.3.4/3 2",
    "1.2.3.4\t/32", "fe80::1%eth0/64", "fe80::1%/64", "fe80::%1/64", "1.2.3.4%eth0/32",
    "::1%lo", ":::/0", "1::2::3/64", "1:2:3:4:5:6:7:8:9/128", "1:2:3:4:5:6:7/112",
    "1:2:3:4:5:6:7::/128", "::1:2:3:4:5:6:7/128", "1:2:3:4:5:6:7:8::/128", "12345::/16",
    "g::/16", ":1::/16", "1::/16:", "1.2.3.4::/128", "::1.2.3.4:5/128", "::ffff:1.2.3.4/128",
    "::FFFF:1.2.3.4/128", "::ffff:01.2.3.4/128", "::ffff:1.2.3/128", "::1.2.3.4/128",
    "1:2:3:4:5:6:1.2.3.4/128", "1:2:3:4:5:6:7:1.2.3.4/128", "::ffff:0:0/96", "::ffff:0.0.0.0/96",
    "64:ff9b::a9fe:a9fe/128", "64:ff9b::169.254.169.254/128", "2001:DB8::/32", "2001:db8::/32",
    "2001:0db8:0000:0000:0000:0000:0000:0000/32", "2001:db8:0:0:1:0:0:1/128",
    "2001:db8::1:0:0:1/128", "0:0:0:0:0:0:0:0/0", "::/0", "1.2.3.4/32\0", "1.2.\0.4/32",
    "\u0661.2.3.4/32", "1.2.3.4/\u0663\u0662", "\uff11.2.3.4/32", "1.2.3.4/08", "10.1.2.3/8",
]


class CidrDiff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(DRIVER, os.X_OK):
            raise unittest.SkipTest(DRIVER + " not built (make test builds it)")

    def corpus(self):
        rng = random.Random(SEED)
        out = [s.encode() for s in NEAR_MISSES]
        valid = []
        for _ in range(3000):
            t = v4_text(rng)
            valid += [t, with_prefix(rng, t, 32)]
        for _ in range(2500):
            for t in v6_spellings(rng, v6_groups(rng)):
                valid += [t, with_prefix(rng, t, 128)]
        out += [s.encode() for s in valid]
        for _ in range(25000):
            out.append(mutate(rng, rng.choice(valid)).encode())
        # odd bytes: NUL, non-ASCII, control characters
        for _ in range(500):
            s = bytearray(rng.choice(valid).encode())
            s.insert(rng.randrange(len(s) + 1), rng.choice([0, 0x80, 0xff, 0x0b, 0x0c, 0x0d, 0x7f]))
            out.append(bytes(s))
        return [s for s in out if b"\n" not in s]

    def check(self, mode, expect):
        lines = self.corpus()
        got = run(mode, lines)
        self.assertGreater(len(lines), 20000)
        fails = []
        for s, g in zip(lines, got):
            code, text = expect(s)
            rc, _, gtext = g.partition(" ")
            rc = int(rc)
            ok = (rc == code if code is not None else rc not in (OK, HOSTBITS))
            if ok and text is not None:
                ok = gtext == text
            if not ok:
                fails.append("%r: got %s, want %s %s" % (s, g, code if code is not None
                                                          else "an error", text or ""))
        self.assertEqual(fails[:20], [], "%d of %d differ" % (len(fails), len(lines)))
        return lines, got

    def test_parse_prefix(self):
        lines, got = self.check("parse", expect_prefix)
        accepted = sum(g.startswith("0 ") for g in got)
        self.assertGreater(accepted, 10000, "the corpus should be rich in valid prefixes")

    def test_parse_address(self):
        self.check("addr", expect_addr)

    def random_net(self, rng, version, maxlen=None):
        bits = 32 if version == 4 else 128
        n = rng.randrange(min(bits, maxlen if maxlen is not None else bits) + 1)
        a = rng.getrandbits(bits)
        cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
        return cls((a, n), strict=False)

    def near(self, rng, net):
        """A prefix related to `net`: inside it mostly, sometimes around or apart."""
        bits = net.max_prefixlen
        r = rng.random()
        if r < 0.65 and net.prefixlen < bits:
            n = rng.randrange(net.prefixlen, bits + 1)
            sub = net.network_address + rng.getrandbits(bits - net.prefixlen)
            return ipaddress.ip_network("%s/%d" % (sub, n), strict=False)
        if r < 0.8 and net.prefixlen > 0:
            return net.supernet(new_prefix=rng.randrange(net.prefixlen))
        if r < 0.85:
            return net
        return self.random_net(rng, rng.choice([4, 6]))

    def test_subtract(self):
        rng = random.Random(SEED + 1)
        cases = []
        for _ in range(3000):
            v = rng.choice([4, 6])
            frm = self.random_net(rng, v, 24 if v == 4 else 100)
            minus = [self.near(rng, frm) for _ in range(rng.randrange(0, 9))]
            cases.append((frm, minus))
        got = run("subtract", [(" ".join(str(n) for n in [f] + m)).encode() for f, m in cases])
        for (frm, minus), g in zip(cases, got):
            pieces = [frm]
            for m in minus:
                if m.version != frm.version:
                    continue
                nxt = []
                for p in pieces:
                    if p.subnet_of(m):
                        continue
                    nxt.extend(p.address_exclude(m) if m.subnet_of(p) else [p])
                pieces = nxt
            want = " ".join(canon(n) for n in ipaddress.collapse_addresses(pieces))
            self.assertEqual(g, want, "%s minus %s" % (frm, [str(m) for m in minus]))

    def test_normalize(self):
        rng = random.Random(SEED + 2)
        cases = []
        for _ in range(3000):
            base = self.random_net(rng, rng.choice([4, 6]), 120)
            nets = [base]
            for _ in range(rng.randrange(0, 12)):
                n = self.near(rng, rng.choice(nets))
                if rng.random() < 0.4 and n.prefixlen < n.max_prefixlen:
                    nets += list(n.subnets())    # sibling halves, to merge back
                else:
                    nets.append(n)
            rng.shuffle(nets)
            cases.append(nets)
        got = run("normalize", [(" ".join(str(n) for n in c)).encode() for c in cases])
        for c, g in zip(cases, got):
            want = [canon(n) for v in (4, 6)
                    for n in ipaddress.collapse_addresses(x for x in c if x.version == v)]
            self.assertEqual(g, " ".join(want), [str(n) for n in c])


if __name__ == "__main__":
    unittest.main()
