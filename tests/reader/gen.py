"""Generator of YAML streams for the reader's differential test.

compiler/fastread.c reads a subset of block YAML (compiler/fastread.h
says which) and gives up on anything else, which libyaml then reads; the
two must build the same trees and say the same errors. This module makes
streams on both sides of that line, deterministically from a seed:

- "subset" streams: every document is inside fastread's subset, written
  the way spec files are (nested block mappings, block and indentless
  sequences, "- key: v" items with more keys below, one-line flow
  sequences, plain scalars with inner spaces, ":" and "#" inside values,
  trailing comments, blank and comment lines anywhere, indentation widths
  1 to 4, an implicit or explicit first document). fastread should read
  all of them itself: the test measures that it does (test_reader.py's
  known_give_up() names the one exception).
- "edge" streams: subset streams with one to three documents mutated at
  or just past the subset's edges (odd indentation, tabs, CR, quoted and
  complex keys, anchors, tags, block scalars, multi-line scalars, flow
  mappings, directives, "...", bad UTF-8, NUL, long keys, deep nesting,
  duplicate keys, empty documents, a BOM, ...; random character edits),
  special streams (many documents with one bad one, tiny whole streams),
  and, after the random ones, fixed streams that end node.c's first
  128 KiB read at chosen bytes (in "---", in a key, in a comment, ...).

    python3 tests/reader/gen.py OUTDIR [SEED [COUNT]]

writes COUNT random streams and the fixed boundary streams to OUTDIR (to
look at them by hand, or to replay them: build/replay/fuzz_reader OUTDIR);
the test (test_reader.py) imports streams() instead.
"""
import os
import random
import sys

# --- the pieces of a spec-like document --------------------------------

# keys fastread takes: [A-Za-z0-9_./] then [A-Za-z0-9_./-]*, then ": "
KEYS = [
    "apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations",
    "app", "app.kubernetes.io/name", "app.kubernetes.io/part-of", "spec", "image",
    "egress", "allow", "allowlist", "mode", "env", "value", "ports", "port", "args",
    "command", "resources", "limits", "cpu", "memory", "x", "y", "n", "a_b", "_hidden",
    ".dot", "/slash", "k8s.io/x-y", "9lives", "0", "1", "true", "no", "null", "ON",
    "a-b-c", "x.y.z", "items", "data", "hosts", "cidr", "runAsUser", "readOnly",
    "...",
]

# plain scalars fastread reads on a key's or a dash's line (block context)
PLAIN = [
    "hello", "hello world", "a  b", "with   three   spaces", "nginx:1.25", "image:tag",
    "ghcr.io/org/img@sha256:abc123", "http://example.com:8080/p?q=1&r=2#frag",
    "https://x.y/z", "10.0.0.0/8", "fe80::1/64", "a#b", "C#", "issue#12", "x#",
    "50%", "--flag=value", "-v", "-1", "-.5", "+1", "1e3", "1E-3", "0x1F", "0o17",
    ".5", "1.", "1.5", ".inf", "-.inf", "+.INF", ".nan", "yes", "no", "on", "off",
    "y", "N", "true", "False", "TRUE", "null", "Null", "~", "0", "007", "1_000",
    "12:30", "a'b", 'say "hi"', "a,b", "a[0]", "f(x)", "a{b}", "a]b", "---", "...",
    "--", "-x-", "a - b", "a:b:c", "key=value", "$HOME",
    "~user", "=", "^start", "(paren)", "<tag>", ";semi", "a?b", "a!b", "a&b", "a*b",
    "a|b", "a>b", "a@b", "a`b", "a%b", "a\\b", "x y z", "0.0.0.0/0", "1.2.3.4",
    "DEBUG", "info", "abc123", "a\"b", "a:b",
]
# ... and plain scalars libyaml reads where fastread gives up (or a comment)
PLAIN_EDGE = ["::1", "?x", ":x", "a:", "a  #b", "-+1", "-", "@x", "`x", "%x", "\\x"]

# plain items of a flow sequence: none of ",[]{}:#?" (fastread's rule)
FLOW_PLAIN = [
    "a", "b", "hello world", "1", "-1", "2.5", "true", "no", "~", "null", "x-y",
    "a.b/c", "--flag", "-x", "a'b", 'a"b', "50%", "a b  c", "...", "---", "=", "y",
]

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7f))
KEY_FIRST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./"
KEY_REST = KEY_FIRST + "-"
# what fastread takes as the first character of a plain scalar (besides "-x")
INDICATORS = set("-?:,[]{}#&*!|>'\"%@`\\ ")


def plain_ok(s, flow=False):
    """Is s a one-line plain scalar inside fastread's subset?"""
    if not s or s[0] == " " or s[-1] == " ":
        return False
    if s[0] == "-":
        if len(s) < 2 or not (s[1].isalnum() or s[1] in "-./_"):
            return False
    elif s[0] in INDICATORS:
        return False
    if flow:
        return not any(c in s for c in ",[]{}:#?")
    return ": " not in s and " #" not in s and not s.endswith(":")


assert all(plain_ok(s) for s in PLAIN) and all(plain_ok(s, flow=True) for s in FLOW_PLAIN)
assert not any(plain_ok(s) for s in PLAIN_EDGE)


def u8(s):
    """Text as its UTF-8 bytes, one character a byte: lines here are kept
    as latin-1 strings so that any byte (bad UTF-8 too) can be written."""
    return s.encode("utf-8").decode("latin-1")


class Gen:
    """Random pieces and documents; everything comes from self.r."""

    def __init__(self, seed):
        self.r = random.Random(seed)

    # -- scalars

    def key(self, long_ok=True):
        r = self.r
        x = r.random()
        if x < 0.75:
            return r.choice(KEYS)
        if x < 0.97 or not long_ok:
            n = r.randint(1, 12)
        else:
            n = r.randint(200, 1000)   # fastread takes keys up to 1000 characters
        return r.choice(KEY_FIRST) + "".join(r.choice(KEY_REST) for _ in range(n - 1))

    def plain(self):
        r = self.r
        if r.random() < 0.7:
            return r.choice(PLAIN)
        while True:   # random printable text, kept if it is in the subset
            s = "".join(r.choice(PRINTABLE) for _ in range(r.randint(1, 20)))
            if plain_ok(s):
                return s

    def flow_plain(self):
        r = self.r
        if r.random() < 0.8:
            return r.choice(FLOW_PLAIN)
        while True:
            s = "".join(r.choice(PRINTABLE) for _ in range(r.randint(1, 10)))
            if plain_ok(s, flow=True):
                return s

    def quoted(self):
        r = self.r
        s = r.choice(["", "a b", "  padded  ", "# not a comment", "a: b", "[x]", "yes",
                      "1", "~", "x", "{a}", "it's", 'say "hi"', "back\\slash", "-"])
        if r.random() < 0.5:
            s = "".join(r.choice(PRINTABLE) for _ in range(r.randint(0, 12)))
        if r.random() < 0.5 and "\\" not in s and '"' not in s:
            return '"' + s + '"'           # fastread: no backslash escapes
        return "'" + s.replace("'", "''") + "'"

    def flow_seq(self):
        r = self.r
        if r.random() < 0.1:
            return r.choice(["[]", "[ ]", "[  ]"])
        items = []
        for _ in range(r.randint(1, 5)):
            if r.random() < 0.3:
                q = self.quoted()
                items.append(q)
            else:
                items.append(self.flow_plain())
        out = "["
        for i, it in enumerate(items):
            if i:
                out += " " * r.choice([0, 0, 1, 1, 1, 2]) + ","
                out += " " * r.choice([0, 1, 1, 1, 2])
            elif r.random() < 0.2:
                out += " "
            out += it
        return out + (" " if r.random() < 0.2 else "") + "]"

    def scalar(self):
        """The text of a one-line value: plain, quoted or a flow sequence."""
        x = self.r.random()
        if x < 0.65:
            return self.plain()
        if x < 0.85:
            return self.quoted()
        return self.flow_seq()

    def comment(self):
        r = self.r
        return "#" + "".join(r.choice(PRINTABLE) for _ in range(r.randint(0, 15)))

    def trailing(self):
        """What may follow a value on its line: spaces, a comment."""
        r = self.r
        x = r.random()
        if x < 0.75:
            return ""
        if x < 0.85:
            return " " * r.randint(1, 3)
        return " " * r.randint(1, 3) + self.comment()

    # -- trees: dict = mapping (ordered, unique keys), list = sequence,
    #    str = a one-line scalar's source text

    def tree(self, depth, maxdepth):
        r = self.r
        if depth >= maxdepth or r.random() < 0.35 + 0.1 * depth:
            return self.scalar()
        if r.random() < 0.6:
            return self.mapping(depth, maxdepth)
        return [self.tree(depth + 1, maxdepth) for _ in range(r.randint(1, 4))]

    def mapping(self, depth, maxdepth):
        m = {}
        for _ in range(self.r.randint(1, 5)):
            m.setdefault(self.key(), None)
        for k in m:
            m[k] = self.tree(depth + 1, maxdepth)
        return m

    def deep(self, levels):
        """A tree `levels` containers deep (maps and sequences mixed)."""
        r = self.r
        node = self.scalar()
        for _ in range(levels):
            if r.random() < 0.6:
                node = {self.key(long_ok=False): node} if r.random() < 0.5 else \
                    {self.key(long_ok=False): node, "zz" + str(r.randint(0, 9)): self.scalar()}
            else:
                node = [node] if r.random() < 0.5 else [self.scalar(), node]
        if not isinstance(node, dict):
            node = {"root": node}
        return node

    # -- rendering inside the subset: a list of lines (no newlines)

    def filler(self, out, col):
        """Maybe blank, space-only or comment lines, at any column."""
        r = self.r
        while r.random() < 0.12:
            x = r.random()
            if x < 0.4:
                out.append("")
            elif x < 0.5:
                out.append(" " * r.randint(1, 6))
            else:
                c = r.choice([0, col, col, max(0, col + r.randint(-3, 3))])
                out.append(" " * c + self.comment())

    def width(self):
        return self.r.choice([1, 2, 2, 2, 3, 4])

    def render_map(self, m, col, out, lead=None):
        """The mapping m with its keys at column col; the first line starts
        with `lead` (a "- " item's dash) instead of spaces when given."""
        r = self.r
        for i, (k, v) in enumerate(m.items()):
            if i or lead is None:
                self.filler(out, col)
                start = " " * col
            else:
                start = lead
            if isinstance(v, str):
                out.append(start + k + ":" + " " * r.choice([1, 1, 1, 2, 4]) + v + self.trailing())
                continue
            after = "" if r.random() < 0.8 else " " * r.randint(1, 2) + self.comment()
            if r.random() < 0.05:
                after += " " * r.randint(1, 3)  # trailing spaces after "key:"
            out.append(start + k + ":" + after)
            self.filler(out, col)
            if isinstance(v, dict):
                self.render_map(v, col + self.width(), out)
            elif r.random() < 0.4:
                self.render_seq(v, col, out)                # indentless
            else:
                self.render_seq(v, col + self.width(), out)

    def render_seq(self, s, col, out):
        r = self.r
        for i, v in enumerate(s):
            if i:
                self.filler(out, col)
            dash = " " * col + "-"
            if isinstance(v, str):
                out.append(dash + " " * r.choice([1, 1, 1, 2]) + v + self.trailing())
            elif isinstance(v, dict) and r.random() < 0.75:
                # "- key: v" with the mapping's other keys below, at the key's column
                n = r.choice([1, 1, 1, 2, 3])
                self.render_map(v, col + 1 + n, out, lead=dash + " " * n)
            else:
                # the item on the lines below, more indented
                out.append(dash + ("" if r.random() < 0.7 else " " + self.comment()))
                self.filler(out, col + 1)
                if isinstance(v, dict):
                    self.render_map(v, col + self.width(), out)
                else:
                    self.render_seq(v, col + self.width(), out)

    def doc_lines(self, tree=None, col=None):
        """One document of the subset (no "---" line): a block mapping."""
        r = self.r
        if tree is None:
            tree = self.mapping(0, r.choice([2, 3, 4, 5, 6]))
        if col is None:
            col = 0 if r.random() < 0.9 else r.randint(1, 3)
        out = []
        self.filler(out, col)
        self.render_map(tree, col, out)
        self.filler(out, col)
        return out

    def start_line(self):
        r = self.r
        return r.choice(["---", "---", "---", "--- ", "--- " + self.comment(),
                         "---   " + self.comment(), "---  "])

    # -- streams

    def subset_docs(self):
        """A stream's documents: lists of lines, each but maybe the first
        starting with its "---" line."""
        r = self.r
        docs = []
        for i in range(r.choice([1, 1, 1, 2, 2, 3, 4, 6])):
            # now and then deep, within node.c's 32 levels
            d = self.doc_lines(tree=self.deep(r.randint(8, 30)) if r.random() < 0.03 else None)
            if i or r.random() < 0.4:
                d = [self.start_line()] + d
            docs.append(d)
        return docs

    def join(self, docs, lead=None, final_newline=None):
        r = self.r
        lines = []
        if lead is None:
            lead = []
            while r.random() < 0.2:
                lead.append(r.choice(["", self.comment(), " " * r.randint(1, 3)]))
        lines += lead
        for d in docs:
            lines += d
        if final_newline is None:
            final_newline = r.random() < 0.9
        text = "\n".join(lines)
        return (text + "\n" if final_newline else text).encode("latin-1")


# --- mutations: each takes (gen, lines of one document) and gives lines -----
# A mutation keeps to one document; stream-wide ones are below. Many edges
# replace the value of a "key: value" line, written relative to the key's
# column `c` when they span lines.

def _kv_lines(lines):
    """Indexes of "key: value" lines (maybe after "- "), with their parts."""
    found = []
    for i, ln in enumerate(lines):
        s = ln.lstrip(" ")
        ind = len(ln) - len(s)
        dash = ""
        if s.startswith("- "):
            j = 2
            while j < len(s) and s[j] == " ":
                j += 1
            dash, s = s[:j], s[j:]
        k = s.find(": ")
        if k <= 0 or s[0] == "#":
            continue
        key = s[:k]
        if not all(ch in KEY_REST for ch in key) or key[0] not in KEY_FIRST:
            continue
        found.append((i, " " * ind + dash, key, s[k + 2:], ind + len(dash)))
    return found


def _pick_kv(g, lines):
    kv = _kv_lines(lines)
    return g.r.choice(kv) if kv else None


def _content(lines):
    return [i for i, ln in enumerate(lines)
            if ln.strip() and not ln.lstrip().startswith("#") and not ln.startswith("---")]


def edge_values(g, c):
    """Values at the edge of the subset, for a key at column c."""
    r = g.r
    sp = " " * (c + r.choice([1, 2, 2, 4]))
    return [
        "b:", "b: c", "b:#c", "b :c", "x: ", "a # b: c", "", "  ", " #c",
        "[a, ]", "[a,]", "[a,,b]", "[,a]", "[a", "[a, b", "[a] x", "[a]x", "[a]#c",
        "[a] #c", "[[a]]", "[a, [b]]", "[a, {b: c}]", "{a: b}", "{}", "{ }", "[a: b]",
        "[a:b]", "[http://x]", "[a #c]", "[a#b]", "[?a]", "[a?]", "['a'b]", "['a' b]",
        "[a, 'b]", '["a\\"b"]', "[-]", "[- a]", "[a]]", "[\"a\",'b',c]", "[ a , b ]",
        '"a\\"b"', '"a\\\\b"', '"a\\nb"', '"\\x41"', '"\\u00e9"', '"\\"', '"x"#c',
        '"x" #c', '"x"  #c', "'x'#c", "'x'y", "'x' y", '"x"y', '"x":', '"x": y',
        '"unterminated', "'unterminated", "'it''s'", "''''", "'''", '""', "''",
        "&a v", "&a", "*a", "*a ", "!!str v", "!!str", "!!int 3", "!foo v", "! v",
        "!<tag:x> v", "&a !!str v", "!!str &a v", "@x", "`x", "%x", "\\x", "?x", "? x",
        ":x", ": x", ",x", "-", "- x", "-+x", "-:x", "- ", "-#", "|", ">", "!", "&",
        "*", "#", "x:", "x :", "a\tb", "\tb", "b\t", "b \t#c", "--- x", "... x",
        "a\\", "1:2:3", "'a' 'b'", "[a]:", "[a]: b", "-x: y", "- - x",
    ] + PLAIN_EDGE + ["[" + x + "]" for x in PLAIN_EDGE] + [
        "|\n" + sp + "line one\n" + sp + "line two",
        "|-\n" + sp + "x\n\n",
        ">\n" + sp + "folded\n" + sp + "text\n",
        "|2\n" + " " * (c + 2) + "x",
        "|+\n" + sp + "x\n\n",
        ">-\n\n" + sp + "x",
        "| # c\n" + sp + "x",
        "|\n",
        "first\n" + sp + "second",                           # multi-line plain
        "first\n" + " " * c + "second",                      # not more indented
        "first\n" + " " * (c + 1) + "# c\n" + sp + "second",
        "first\n\n" + sp + "second",
        '"a\n' + sp + 'b"',                                  # multi-line quoted
        "'a\n" + sp + "b'",
        "'a\n\n" + sp + "b'",
        "[a,\n" + sp + "b]",                                 # multi-line flow
        "[a\n" + sp + ", b]",
        "[\n" + sp + "a]",
        "{a: b,\n" + sp + "c: d}",
        "&x\n" + sp + "k: v",
        "!!map\n" + sp + "k: v",
        "!!seq\n" + sp + "- v",
        "&x\n" + " " * c + "- v",
        "\n" + sp + "- - x",
        "\n" + sp + "-",
        "\n" + sp + "- ",
        "\n" + sp + "-\n" + sp + "- x",
        "\n" + " " * c + "-",
        "\n" + sp + "? k\n" + sp + ": v",
        "\n" + sp + "? k",
        "\n" + sp + "?",
        "\n" + sp + ": v",
        "\n" + sp + "k:",
        "\n" + sp + "k: v\n" + " " * (c + 1) + "j: w" if len(sp) > c + 1 else "x",
        "\n" + sp + "k: v\n" + sp + " j: w",
        "\n" + sp + "\"q\": v",
        "\n" + sp + "'q': v",
        "\n" + sp + "k : v",
        "\n" + sp + "my key: v",
        "\n" + sp + "k: v\n" + sp + "k: w",                   # duplicate key
        "\n" + sp + "plain text",
        "\n" + sp + "[a, b]",
        "\n" + sp + "\"x\"",
        "\n" + " " * c + "...",
        "\n" + " " * c + "---",
        "\n...",
        "\n%YAML 1.1",
        "\n---x",
        "\n----",
        "\n" + sp + "<<: *a",
        "\n" + sp + "&a k: v",
        "\n" + sp + "!!str k: v",
    ]


def m_value(g, lines):
    """Replace one value with an edge value."""
    kv = _pick_kv(g, lines)
    if not kv:
        return lines
    i, start, key, _, c = kv
    v = g.r.choice(edge_values(g, c))
    sep = "" if v.startswith("\n") or v == "" else g.r.choice([" ", " ", "  "])
    return lines[:i] + (start + key + ":" + sep + v).split("\n") + lines[i + 1:]


def m_reindent(g, lines):
    """Move a content line left or right by 1 to 3 columns."""
    idx = _content(lines)
    if not idx:
        return lines
    i = g.r.choice(idx)
    d = g.r.choice([-3, -2, -1, -1, 1, 1, 2, 3])
    s = lines[i].lstrip(" ")
    ind = max(0, len(lines[i]) - len(s) + d)
    return lines[:i] + [" " * ind + s] + lines[i + 1:]


def m_tab(g, lines):
    """A tab: in the indentation, after ":", after "-", at the end, in a comment."""
    r = g.r
    idx = _content(lines) or list(range(len(lines)))
    if not idx:
        return lines
    i = r.choice(idx)
    ln = lines[i]
    how = r.randrange(6)
    if how == 0:
        ln = "\t" + ln
    elif how == 1 and ln.startswith(" "):
        ln = "\t" + ln[1:]
    elif how == 2 and ": " in ln:
        ln = ln.replace(": ", ":\t", 1)
    elif how == 3 and "- " in ln:
        ln = ln.replace("- ", "-\t", 1)
    elif how == 4:
        ln = ln + r.choice(["\t", " \t", "\t#c", " \t# c"])
    else:
        p = r.randint(0, len(ln))
        ln = ln[:p] + "\t" + ln[p:]
    return lines[:i] + [ln] + lines[i + 1:]


def m_no_space(g, lines):
    """"key:value": the space after a colon removed."""
    kv = _pick_kv(g, lines)
    if not kv:
        return lines
    i, start, key, val, _ = kv
    return lines[:i] + [start + key + ":" + val.lstrip(" ")] + lines[i + 1:]


def m_key_edge(g, lines):
    """A key fastread does not take, or only just takes."""
    r = g.r
    kv = _pick_kv(g, lines)
    if not kv:
        return lines
    i, start, key, val, _ = kv
    n = r.choice([999, 1000, 1001, 1020, 1023, 1024, 1025, 1030, 1100])
    new = r.choice([
        '"' + key + '"', "'" + key + "'", key + " ", "my " + key, key + "\t",
        "-" + key, "?" + key, "? " + key, "&a " + key, "!!str " + key, "*" + key,
        key + "#x", "[" + key + "]", "{" + key + "}", key + u8("é"), u8("日本"), "<<", "~",
        "a" * n, "k" + "-" * (n - 1), ".../" * (n // 4),
    ])
    return lines[:i] + [start + new + ": " + val] + lines[i + 1:]


def m_seq_edge(g, lines):
    """Sequence entries at the edge: "- - x", "-" alone, "- " and friends."""
    r = g.r
    idx = _content(lines)
    if not idx:
        return lines
    i = r.choice(idx)
    s = lines[i].lstrip(" ")
    c = len(lines[i]) - len(s)
    new = r.choice([
        ["- - x"], ["-"], ["- "], ["-", "- x"], ["- x", "-"], ["- - - x"],
        ["- x", " - y"], ["- x", "  - y"], ["- x", "   y"], ["-x"], ["--"],
        ["- x: 1", " y: 2"], ["- x: 1", "   y: 2"], ["- x: 1", "  - y"],
        ["-   x: 1", "  y: 2"], ["- # c", "- x"], ["- [a]", "- {b: c}"],
        ["- &a x", "- *a"], ["- ? x", "  : y"], ["- |", "  x"],
    ])
    return lines[:i] + [" " * c + ln for ln in new] + lines[i:]


def m_dup(g, lines):
    """A duplicate key: a key line repeated right below itself."""
    kv = [x for x in _kv_lines(lines) if not lines[x[0]].lstrip().startswith("-")]
    if not kv:
        return lines
    i = g.r.choice(kv)[0]
    return lines[:i + 1] + [lines[i]] + lines[i + 1:]


def m_key_eof(g, lines):
    """"key:" (or "- key:", "-") as the document's last line."""
    r = g.r
    c = r.choice([0, 0, 2, 4])
    return lines + [" " * c + r.choice(["k:", "zz:", "- k:", "-", "k: # c", "? k"])]


def m_doc_marker(g, lines):
    """Document markers and directives where fastread stops."""
    r = g.r
    i = r.randint(0, len(lines))
    new = r.choice([
        ["..."], ["... # c"], ["...x"], ["... x"], ["%YAML 1.1"], ["%YAML 1.1", "---"],
        ["%TAG ! tag:x,2000:"], ["%FOO bar"], ["--- x"], ["---x"], ["----"],
        ["--- a: b"], ["--- [a]"], ["--- |", "  x"], ["--- >", " x"], ['--- "x"'],
        ["--- &a"], ["--- !!map"], ["---", "..."], ["...", "---"], ["...", "%YAML 1.1", "---"],
        ["---"], [" ---"], ["--- #c"], ["..."], ["....."],
    ])
    return lines[:i] + new + lines[i:]


def m_bytes(g, lines):
    """Non-ASCII, bad UTF-8, NUL, control characters, a BOM, odd line breaks."""
    r = g.r
    if not lines:
        return lines
    i = r.randrange(len(lines))
    b = r.choice([
        # UTF-8: letters, NBSP, YAML 1.1's line breaks NEL, LS and PS, a BOM
        u8("é"), u8("日本語"), u8("\U0001f600"), u8("\u00a0"), u8("\u2028"), u8("\u2029"),
        u8("\u0085"), u8("\ufeff"),
        # control characters, CR alone
        "\x00", "\x01", "\x1b", "\x7f", "\x0b", "\x0c", "\r",
        # bad UTF-8: stray continuation bytes, truncated, overlong, surrogate, > U+10FFFF
        "\x85", "\xa0", "\xff", "\xc3", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\x80", "\xe2\x82",
    ])
    ln = lines[i]
    p = r.choice([0, len(ln), r.randint(0, len(ln))])
    return lines[:i] + [ln[:p] + b + ln[p:]] + lines[i + 1:]


def m_multiline(g, lines):
    """A plain value continued on the next line, at several indentations."""
    kv = _pick_kv(g, lines)
    if not kv:
        return lines
    i, start, key, val, c = kv
    if val[:1] in "\"'[" or "#" in val:
        val = "v"
    d = g.r.choice([-1, 0, 1, 1, 2, 4])
    return lines[:i + 1] + [" " * max(0, c + d) + "cont"] + lines[i + 1:]


# what character edits insert: YAML's indicators, blanks, breaks, letters
EDIT_CHARS = "-:#'\"[],{}?&*!|>%@`.~ \t\r\n\\ \nax0"


def m_chars(g, lines):
    """One to three random character edits (insert, delete, replace), the
    neighbourhood of a valid document, where fastread must decide alone."""
    r = g.r
    text = "\n".join(lines)
    for _ in range(r.choice([1, 1, 1, 2, 3])):
        p = r.randint(0, len(text))
        op = r.randrange(3)
        ch = r.choice(EDIT_CHARS)
        if op == 0:
            text = text[:p] + ch + text[p:]
        elif op == 1:
            text = text[:p] + text[p + 1:]
        else:
            text = text[:p] + ch + text[p + 1:]
    return text.split("\n")


MUTATIONS = [
    (m_chars, 8), (m_value, 8), (m_reindent, 4), (m_tab, 2), (m_no_space, 1), (m_key_edge, 2),
    (m_seq_edge, 2), (m_dup, 1), (m_key_eof, 1), (m_doc_marker, 2), (m_bytes, 3),
    (m_multiline, 2),
]


def mutate(g, lines):
    fns = [f for f, w in MUTATIONS for _ in range(w)]
    f = g.r.choice(fns)
    return f(g, lines), f.__name__[2:]


# --- whole streams ------------------------------------------------------

def edge_stream(g):
    """A subset stream with one to three documents mutated."""
    r = g.r
    docs = g.subset_docs()
    if r.random() < 0.3:
        docs += [[g.start_line()] + g.doc_lines() for _ in range(r.randint(1, 4))]
    names = []
    for _ in range(r.choice([1, 1, 1, 2, 3])):
        j = r.randrange(len(docs))
        d = docs[j]
        head = [d[0]] if d and d[0].startswith("---") else []
        body, name = mutate(g, d[len(head):])
        docs[j] = head + body
        names.append(name)
    data = g.join(docs)
    # stream-wide edges
    x = r.random()
    if x < 0.04:
        data, name = data.replace(b"\n", b"\r\n"), "crlf"
    elif x < 0.06:
        data, name = data.replace(b"\n", b"\r"), "cr"
    elif x < 0.08:
        data, name = b"\xef\xbb\xbf" + data, "bom"
    elif x < 0.10:
        data, name = data.rstrip(b"\n"), "no-newline"
    else:
        name = None
    if name:
        names.append(name)
    return data, "-".join(sorted(set(names)))


def deep_stream(g):
    """Nesting 25 to 50 containers deep (node.c refuses more than 32,
    fastread more than 48)."""
    r = g.r
    levels = r.randint(25, 50)
    docs = [g.doc_lines(tree=g.deep(levels), col=0)]
    if r.random() < 0.5:
        docs.insert(0, g.doc_lines())
        docs[1] = ["---"] + docs[1]
    if r.random() < 0.5:
        docs.append(["---"] + g.doc_lines())
    return g.join(docs), "deep%d" % levels


def many_docs_stream(g):
    """Many small documents; a bad one in the middle or at the end."""
    r = g.r
    n = r.randint(10, 40)
    docs = [["---"] + g.doc_lines(tree=g.mapping(0, 2)) for _ in range(n)]
    if r.random() < 0.5:
        docs[0] = docs[0][1:]
    j = r.choice([n // 2, n - 1, r.randrange(n)])
    head = [docs[j][0]] if docs[j][0] == "---" else []
    body, name = mutate(g, docs[j][len(head):])
    docs[j] = head + body
    return g.join(docs), "many-" + name


def special_stream(g):
    """Small whole streams at the edges."""
    r = g.r
    c = g.comment()
    doc = "\n".join(g.doc_lines())
    BOM = u8("\ufeff")
    pick = r.choice([
        ("empty", ""), ("newline", "\n"), ("blank", "  \n\n"), ("comment", c + "\n"),
        ("comments", c + "\n  " + c + "\n"), ("dashes", "---"), ("dashes-nl", "---\n"),
        ("two-empty", "---\n---\n"), ("two-empty-eof", "---\n---"),
        ("empty-mid", doc + "\n---\n---\n" + doc + "\n"),
        ("comment-doc", doc + "\n---\n" + c + "\n"),
        ("comment-doc-mid", "---\n" + c + "\n---\n" + doc + "\n"),
        ("comment-then-start", c + "\n---\n" + doc + "\n"),
        ("blank-then-start", "\n\n---\n" + doc + "\n"),
        ("root-scalar", "hello\n"), ("root-scalar-2", doc + "\n---\nhello\n"),
        ("root-quoted", '"x"\n'), ("root-flow", "[a, b]\n"), ("root-seq", "- a\n- b\n"),
        ("root-seq-2", doc + "\n---\n- a\n- b: c\n"), ("root-seq-start", "--- \n- x\n"),
        ("start-value", "--- x\n"), ("start-map", "--- a: b\n"), ("start-x", "---x\n"),
        ("four-dashes", "----\n"), ("dots", "...\n"), ("dots-doc", doc + "\n...\n"),
        ("dots-then", doc + "\n...\n---\n" + doc + "\n"),
        ("directive", "%YAML 1.1\n---\n" + doc + "\n"),
        ("directive-2", doc + "\n---\n%YAML 1.1\n---\n" + doc + "\n"),
        ("directive-no-start", "%YAML 1.1\n" + doc + "\n"),
        ("bom", BOM + doc + "\n"), ("bom-2", doc + "\n---\n" + BOM + doc + "\n"),
        ("bom-mid", doc + "\n" + BOM + doc + "\n"), ("bom-only", BOM),
        ("bom-comment", BOM + c + "\n---\n" + doc + "\n"),
        ("key-eof", "a: 1\nb:"), ("key-eof-nl", "a: 1\nb:\n"), ("key-eof-2", doc + "\nzz:\n---\n"),
        ("nul", doc + "\n\x00"), ("nul-2", doc + "\n---\na: \x00\n"),
        ("no-newline", doc), ("start-eof", doc + "\n---"), ("start-sp-eof", doc + "\n--- "),
        ("cr-start", doc + "\n---\r\n" + doc + "\n"), ("tab-start", doc + "\n---\t\n" + doc + "\n"),
        ("nel", doc + "\n---" + u8("\u0085") + doc + "\n"), ("bad-nel", doc + "\n---\x85\n"),
        ("start-nul", doc + "\n---\x00\n" + doc), ("start-ff", doc + "\n---\xff\n" + doc),
        ("start-vt", doc + "\n---\x0b" + doc), ("start-sp-ff", doc + "\n--- \xff\n" + doc),
        ("seq-in-seq", "a:\n- - x\n"), ("indentless-end", "a:\n- x\n- y\nb: 1\n"),
        ("indentless-dedent", "a:\n  b:\n  - x\n c: 1\n"),
        ("dash-alone", "a:\n  -\n  - x\n"), ("utf8-doc2", doc + "\n---\nk: " + u8("é") + "\n"),
        ("long-doc-then-bad", doc + "\n---\n" + doc + "\n---\n" + doc + "\n  bad\n"),
    ])
    name, text = pick
    return text.encode("latin-1"), "special-" + name


def big_stream(g):
    """Longer than node.c's first read (128 KiB), so fastread asks for more
    input in the middle of a document, of a "---", of a key."""
    r = g.r
    target = 131072 + r.randint(-40, 40)
    docs = []
    size = 0
    while size < target + 4000:
        d = ["---"] + g.doc_lines(tree=g.mapping(0, 3))
        docs.append(d)
        size += sum(len(x) + 1 for x in d)
    if r.random() < 0.5:
        j = r.randrange(len(docs))
        body, name = mutate(g, docs[j][1:])
        docs[j] = docs[j][:1] + body
    else:
        name = "ok"
    # pad the front with a comment so the 128 KiB boundary moves around
    data = g.join(docs, lead=["#" + "p" * r.randint(0, 200)])
    return data, "big-" + name


# node.c reads 128 KiB first (2 * READ_CHUNK), then asks for more when
# fastread says a document goes on past what it has (FR_MORE)
FIRST_READ = 128 << 10
FAST_MAX_DOC = 1 << 20     # node.c: a longer document is left to libyaml


def padded(g, before, after, at):
    """before + after, with a comment line in front sized so that `after`
    starts at byte `at` (before must be shorter)."""
    pad = at - len(before) - 2          # "#" ... "\n"
    assert pad >= 0
    return ("#" + "p" * pad + "\n").encode() + before + after


def bulk(g, size, start=True):
    """Subset documents, each after a "---" line: between size - 3000 and
    size bytes."""
    docs = []
    n = 0
    while n < size - 3000:
        d = ["---"] + g.doc_lines(tree=g.mapping(0, 3), col=0)
        k = sum(len(x) + 1 for x in d)
        if n + k <= size:
            docs.append(d)
            n += k
    if not start:
        docs[0] = docs[0][1:]
    return g.join(docs, lead=[], final_newline=True)


def boundary_streams(g):
    """Streams where node.c's first read ends at chosen places:
    (name, bytes, in_subset)."""
    out = []
    head = bulk(g, FIRST_READ - 3000, start=False)
    doc = g.join([["---"] + g.doc_lines(tree=g.mapping(0, 3), col=0)], lead=[], final_newline=True)
    # the read ends k bytes into "---\n" of the next document (k = -1: before its "\n")
    for k in range(-1, 6):
        out.append(("boundary-start%+d" % k, padded(g, head, doc + doc, FIRST_READ - k), True))
    # ... k bytes into a long key, a value, a comment, short lines
    for name, text in [("key", "k" * 900 + ": v\n"), ("value", "k: " + "v" * 900 + "\n"),
                       ("comment", "k: v # " + "c" * 900 + "\n"),
                       ("lines", "".join("k%d: v\n" % i for i in range(200)))]:
        for k in (0, 1, 450, 899, 900, 901):
            out.append(("boundary-%s%d" % (name, k),
                        padded(g, head, b"---\n" + text.encode() + doc, FIRST_READ - 4 - k), True))
    # the stream ends right at the read's end, or a byte either side
    for d in (-1, 0, 1):
        for tail in (b"---\nk: v\n", b"---\nk: v", b"---\n", b"---"):
            out.append(("boundary-eof%+d-%d" % (d, len(tail)),
                        padded(g, head, tail, FIRST_READ + d - len(tail)),
                        tail.startswith(b"---\nk")))
    # a byte fastread does not take just before, at and after the read's
    # end (node.c carries the length of the valid prefix across reads)
    for k in (-9, -1, 0, 1, 8):
        for b in (b"\t", b"\xff", b"\x00"):
            data = padded(g, head, doc + doc, FIRST_READ - 40)
            out.append(("boundary-byte%+d-%02x" % (k, b[0]),
                        data[:FIRST_READ + k] + b + data[FIRST_READ + k + 1:], False))
    # a bad document right after the read
    out.append(("boundary-bad", padded(g, head, b"---\nk: [a\n" + doc, FIRST_READ - 2), False))
    # more than the first read of comments before the first document
    lead = ("# " + "c" * 78 + "\n") * (FIRST_READ // 80 + 10)
    out.append(("boundary-comments", lead.encode() + doc, True))
    out.append(("boundary-comments-implicit", lead.encode() + b"k: v\n" + doc, True))
    # one document longer than the first read; one longer than FAST_MAX_DOC
    big = g.join([g.doc_lines(tree={"k%d" % i: g.scalar() for i in range(FIRST_READ // 20)})],
                 lead=[], final_newline=True)
    out.append(("boundary-long-doc", big + doc, True))
    huge = ("x: " + "y" * 1000 + "\n").encode() * (FAST_MAX_DOC // 1000)
    huge = b"".join(b"k%d%s" % (i, ln[1:]) for i, ln in enumerate(huge.splitlines(True)))
    out.append(("boundary-huge-doc", doc + b"---\n" + huge + doc, False))
    return out


def streams(seed, count):
    """(name, bytes, in_subset) for `count` random streams from `seed`,
    then the boundary streams."""
    g = Gen(seed)
    out = []
    for i in range(count):
        x = g.r.random()
        subset = False
        if x < 0.55:
            data, kind = g.join(g.subset_docs()), "subset"
            subset = True
        elif x < 0.88:
            data, kind = edge_stream(g)
            kind = "edge-" + kind
        elif x < 0.92:
            data, kind = deep_stream(g)
        elif x < 0.95:
            data, kind = many_docs_stream(g)
        elif x < 0.999:
            data, kind = special_stream(g)
        else:
            data, kind = big_stream(g)
        out.append(("%05d-%s.yaml" % (i, kind[:60]), data, subset))
    for name, data, subset in boundary_streams(g):
        out.append((name + ".yaml", data, subset))
    return out


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: gen.py OUTDIR [SEED [COUNT]]\n")
        return 2
    outdir = argv[1]
    seed = int(argv[2]) if len(argv) > 2 else 1
    count = int(argv[3]) if len(argv) > 3 else 100
    os.makedirs(outdir, exist_ok=True)
    for name, data, _ in streams(seed, count):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
