"""compilers/regex_dfa.py: a pattern's DFA table accepts exactly what DuckDB's ``regexp_full_match`` accepts.

DuckDB is the oracle, not Python's ``re``. Random patterns come from a grammar of the
supported subset (each knows how to spell strings it matches, so a batch holds matches, near
misses and junk), and from soups of regex tokens (whole patterns; character classes) that probe
the parser's whitelist: whenever ``compile_dfa`` returns a table, DuckDB must accept the pattern
and agree on every string.
Each batch of strings is one DuckDB query, the pattern passed both as a parameter and inlined
as a literal (the compiled contract inlines it).

``DQGATE_DFA_EXAMPLES=3000 pytest tests/compilers/test_regex_dfa.py`` runs a long hunt.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dqgate._kernels.reference import DFA_HEADER, dfa_full_match, dfa_table_ok
from dqgate.compilers.regex_dfa import MAX_LIVE_STATES, Unsupported, compile_dfa
from dqgate.runners import native

EXAMPLES = int(os.environ.get("DQGATE_DFA_EXAMPLES", "150"))
HUNT = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
CON = duckdb.connect(config=native.CONFIG)
CON.execute(f"LOAD '{native.PATH}'")  # dq_dfa_match, the C executor of the same tables (_kernels/dqgate_native.c)

# Characters every batch may mix in: whitespace RE2 treats differently (\v is not \s), NUL
# (DuckDB VARCHARs may hold it), and non-ASCII characters of 2, 3 and 4 UTF-8 bytes, including
# the first and last lead bytes of each length (C2, DF, E0, EF, F0, F4).
SPECIALS = ["\n", "\t", "\r", "\x0b", "\x0c", " ", "\x00", "\x7f", "é", "日", "本", "😀"]
SPECIALS += ["\xa0", "\u07ff", "\u0800", "\ufffc", "\U00010000", "\U0010fffd"]
POOL = [*string.ascii_letters, *string.digits, *string.punctuation, *SPECIALS]


def duckdb_full_match(pattern: str, values: list[str]) -> list[bool] | None:
    """``regexp_full_match(value, pattern)`` per value, or None when DuckDB (RE2) rejects the pattern."""
    literal = pattern.replace("'", "''")
    try:
        by_param, by_literal = CON.execute(
            "SELECT list_transform($1::VARCHAR[], lambda s: regexp_full_match(s, $2)),"
            f" list_transform($1::VARCHAR[], lambda s: regexp_full_match(s, '{literal}'))",
            [values, pattern],
        ).fetchone()
    except duckdb.InvalidInputException:
        return None
    assert by_param == by_literal, f"DuckDB disagrees with itself on {pattern!r}"
    return by_param


def compiled(pattern: str) -> bytes | str:
    """The table, or the reason it is unsupported."""
    try:
        table = compile_dfa(pattern)
    except Unsupported as exc:
        return str(exc)
    assert dfa_table_ok(table), f"malformed table for {pattern!r}"
    return table


def assert_agrees(pattern: str, table: bytes, values: list[str], expected: list[bool]) -> None:
    """The Python twin and the C executor inside DuckDB both give DuckDB's own answers."""
    got = [dfa_full_match(table, v.encode()) for v in values]
    wrong = [(v, e) for v, g, e in zip(values, got, expected, strict=True) if g != e]
    assert not wrong, f"{pattern!r}: DFA differs from DuckDB on (value, DuckDB says) {wrong[:8]}"
    (in_duckdb,) = CON.execute("SELECT list_transform($1::VARCHAR[], lambda s: dq_dfa_match(s, $2))", [values, table]).fetchone()
    assert in_duckdb == got, f"{pattern!r}: dq_dfa_match differs from the Python twin"
    event(f"matches in batch: {'none' if not any(expected) else 'some'}")


# ---------------------------------------------------------------------------------------------
# Grammar of the supported subset. Each node renders to pattern text and samples a string it
# (usually) matches; DuckDB decides, so a sample need not be exact.


@dataclass
class Node:
    text: str
    sample: Callable[[random.Random], str]


META = set("\\.+*?()|[]{}^$")
CLASS_META = set("\\]^-[")


def _spell(c: str, rnd: random.Random, meta: set[str]) -> str:
    """``c`` as pattern text: escaped when needed, sometimes as \\n-style or \\x escapes."""
    named = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x0b": "\\v", "\x0c": "\\f", "\x07": "\\a"}
    roll = rnd.random()
    if c in named and roll < 0.8:
        return named[c]
    if roll < 0.1:
        return f"\\x{ord(c):02x}" if rnd.random() < 0.5 else f"\\x{{{ord(c):X}}}"
    if c in meta or (c in string.punctuation and roll < 0.3):
        return "\\" + c
    return c


LITERAL_CHARS = string.ascii_letters[:6] + string.digits[:3] + string.punctuation + " \n\t\r\x0b\x0c\x07\x00\x01"
PERL = {
    "d": string.digits,
    "w": string.ascii_letters + string.digits + "_",
    "s": " \t\n\r\x0c",
}


@st.composite
def literals(draw: st.DrawFn) -> Node:
    c = draw(st.sampled_from(LITERAL_CHARS))
    text = _spell(c, draw(st.randoms(use_true_random=False)), META)
    return Node(text, lambda rnd: c)


@st.composite
def perls(draw: st.DrawFn) -> Node:
    letter = draw(st.sampled_from("dwsDWS"))
    members = PERL[letter.lower()]
    if letter.islower():
        return Node("\\" + letter, lambda rnd: rnd.choice(members))
    return Node("\\" + letter, lambda rnd: rnd.choice(POOL))


def dot() -> Node:
    return Node(".", lambda rnd: rnd.choice(POOL))


@st.composite
def classes(draw: st.DrawFn) -> Node:
    rnd = draw(st.randoms(use_true_random=False))
    negate = draw(st.booleans())
    items: list[str] = []
    members: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["char", "char", "range", "perl"]))
        if kind == "char":
            c = draw(st.sampled_from(LITERAL_CHARS))
            items.append(_spell(c, rnd, CLASS_META))
            members.append(c)
        elif kind == "range":
            lo, hi = sorted(draw(st.lists(st.integers(0x20, 0x7E), min_size=2, max_size=2)))
            items.append(_spell(chr(lo), rnd, CLASS_META) + "-" + _spell(chr(hi), rnd, CLASS_META))
            members.extend(chr(c) for c in range(lo, hi + 1))
        else:
            letter = draw(st.sampled_from("dwsDWS"))
            items.append("\\" + letter)
            members.extend(PERL[letter] if letter in PERL else rnd.sample(POOL, 8))
    text = "[" + ("^" if negate else "") + "".join(items) + "]"
    if negate:
        return Node(text, lambda rnd: rnd.choice(POOL))
    return Node(text, lambda rnd: rnd.choice(members))


def _group(child: Node, opener: str) -> Node:
    return Node(opener + child.text + ")", child.sample)


def _concat(children: list[Node]) -> Node:
    return Node("".join(c.text for c in children), lambda rnd: "".join(c.sample(rnd) for c in children))


def _alternation(children: list[Node]) -> Node:
    return Node("|".join(c.text for c in children), lambda rnd: rnd.choice(children).sample(rnd))


@st.composite
def repeats(draw: st.DrawFn, atom: Node) -> Node:
    kind = draw(st.sampled_from(["*", "+", "?", "{m}", "{m,}", "{m,n}"]))
    lo = draw(st.integers(0, 3))
    hi = lo + draw(st.integers(0, 3))
    op, low, high = {
        "*": ("*", 0, None),
        "+": ("+", 1, None),
        "?": ("?", 0, 1),
        "{m}": (f"{{{lo}}}", lo, lo),
        "{m,}": (f"{{{lo},}}", lo, None),
        "{m,n}": (f"{{{lo},{hi}}}", lo, hi),
    }[kind]
    lazy = "?" if draw(st.booleans()) else ""

    def sample(rnd: random.Random) -> str:
        count = rnd.randint(low, high if high is not None else low + 3)
        return "".join(atom.sample(rnd) for _ in range(count))

    return Node(atom.text + op + lazy, sample)


def _atoms(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    groups = st.tuples(inner, st.sampled_from(["(", "(?:", "(?P<g>", "(?P<_1>"])).map(lambda t: _group(*t))
    return st.one_of(literals(), perls(), classes(), st.just(dot()), groups)


def _pieces(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    atom = _atoms(inner)
    return st.one_of(atom, atom.flatmap(repeats))


def _expressions(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    sequences = st.lists(_pieces(inner), min_size=0, max_size=4).map(_concat)
    return st.lists(sequences, min_size=1, max_size=3).map(_alternation)


EXPRESSIONS = st.recursive(st.lists(_pieces(st.nothing()), max_size=3).map(_concat), _expressions, max_leaves=10)


@st.composite
def patterns(draw: st.DrawFn) -> Node:
    """A top-level alternation whose alternatives may carry their own ``^`` and ``$``."""
    options = []
    for _ in range(draw(st.integers(1, 3))):
        node = _concat(draw(st.lists(_pieces(EXPRESSIONS), max_size=4)))
        head = "^" if draw(st.booleans()) else ""
        tail = "$" if draw(st.booleans()) else ""
        options.append(Node(head + node.text + tail, node.sample))
    return _alternation(options)


def batch(rnd: random.Random, node: Node | None, pattern: str) -> list[str]:
    """Strings to try: samples of the pattern, mutations of them, junk over its alphabet, edge cases."""
    alphabet = [c for c in pattern if c.isprintable()] + SPECIALS + ["a", "0", "_"]
    samples = [node.sample(rnd) for _ in range(12)] if node is not None else []
    out = list(samples)
    for s in samples:
        i = rnd.randint(0, len(s))
        c = rnd.choice(alphabet)
        out.append(rnd.choice([s[:i] + c + s[i:], s[:i] + s[i + 1 :], s[:i] + c + s[i + 1 :], s + "\n", s + s]))
    out += ["".join(rnd.choices(alphabet, k=rnd.randint(1, 8))) for _ in range(12)]
    out += ["", "\n", "é", "😀", "日本", "\x00", " "]
    return out


@HUNT
@given(patterns(), st.randoms(use_true_random=False))
def test_grammar_patterns_match_duckdb(node: Node, rnd: random.Random) -> None:
    pattern = node.text
    values = batch(rnd, node, pattern)
    expected = duckdb_full_match(pattern, values)
    table = compiled(pattern)
    if expected is None:  # only nested counted repeats can push a grammar pattern past RE2's limits
        assert isinstance(table, str), f"compile_dfa returned a table for {pattern!r}, which RE2 rejects"
        assert "multiply past" in table, f"the grammar made a pattern RE2 rejects: {pattern!r} ({table})"
        event("RE2 rejects: nested repeats")
        return
    if isinstance(table, str):  # only a size limit may refuse a pattern of the subset (it then runs on RE2)
        size_limits = ("too many states", "counted repeats too large")
        assert table.startswith(size_limits), f"{pattern!r} is in the supported subset but: {table}"
        event(f"refused: {table.split(' (')[0]}")
        return
    event(f"states: {'<10' if table[1] < 10 else '<50' if table[1] < 50 else '50+'}")
    assert_agrees(pattern, table, values, expected)


TOKENS = [
    "a", "b", "0", "7", "-", ",", ":", ".", "_", "<", ">", "P", "x", "\n",
    "\\d", "\\w", "\\s", "\\D", "\\W", "\\S", "\\.", "\\-", "\\]", "\\[", "\\\\", "\\n", "\\v", "\\x41", "\\x{7f}",
    "\\x", "\\0", "\\1", "\\b", "\\z", "\\pL", "\\Q", "\\", "\\_", "\\{", "\\}", "\\ ",
    "[", "]", "[^", "[:alpha:]", "^", "$", "(", ")", "(?:", "(?P<n>", "(?i)", "(?", "|",
    "*", "+", "?", "{", "}", "{2}", "{0}", "{1,3}", "{2,}", "{,2}", "{01}", "{3,1}", "{1000}", "{1001}",
]  # fmt: skip


@HUNT
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=8).map("".join), st.randoms(use_true_random=False))
def test_token_soup_never_misread(pattern: str, rnd: random.Random) -> None:
    """Whatever the parser accepts, DuckDB accepts too and reads the same way."""
    table = compiled(pattern)
    if isinstance(table, str):
        event("unsupported")
        return
    values = batch(rnd, None, pattern)
    values += ["".join(rnd.choices("ab07-,.:_<>Px{}[]\n ", k=rnd.randint(1, 4))) for _ in range(20)]
    expected = duckdb_full_match(pattern, values)
    assert expected is not None, f"compile_dfa returned a table for {pattern!r}, which RE2 rejects"
    event("compiled")
    assert_agrees(pattern, table, values, expected)


CLASS_TOKENS = [
    "a", "b", "z", "A", "0", "9", "-", "-", "-", "-", "!", ",", ".", "^", "]", "[", ":", "_", " ", "~", "\t",
    "\\d", "\\D", "\\s", "\\W", "\\-", "\\]", "\\[", "\\^", "\\\\", "\\x41", "\\x{7e}", "\\n", "\\v", "\\.", "\\b",
]  # fmt: skip
ONE_CHARS = [chr(c) for c in range(0x20, 0x7F)] + SPECIALS


@HUNT
@given(st.booleans(), st.lists(st.sampled_from(CLASS_TOKENS), min_size=1, max_size=6).map("".join))
def test_class_soup_never_misread(negate: bool, body: str) -> None:
    """Character classes read like RE2 reads them: ranges, literal '-' and ']', escapes; tried on every character."""
    pattern = "[" + ("^" if negate else "") + body + "]"
    table = compiled(pattern)
    if isinstance(table, str):
        event("unsupported")
        return
    values = [*ONE_CHARS, "", "ab", "éé"]
    expected = duckdb_full_match(pattern, values)
    assert expected is not None, f"compile_dfa returned a table for {pattern!r}, which RE2 rejects"
    event("compiled")
    assert_agrees(pattern, table, values, expected)


# ---------------------------------------------------------------------------------------------
# Fixed cases.


def test_email_benchmark_pattern() -> None:
    table = compile_dfa(EMAIL)
    good = ["a@b.co", "john.doe+tag@example.com", "x_y%z@sub-domain.example.org", "A1@B2.CD", "a@b..co"]
    bad = ["", "a@b.c", "@b.co", "a@.co", "a@b.co\n", "\na@b.co", "é@b.co", "a@b.c0", "a b@c.de", "a@b@c.de", "a@bco"]
    assert [dfa_full_match(table, s.encode()) for s in good] == [True] * len(good)
    assert [dfa_full_match(table, s.encode()) for s in bad] == [False] * len(bad)
    assert duckdb_full_match(EMAIL, good + bad) == [True] * len(good) + [False] * len(bad)
    n_states, n_classes = table[1], table[2]
    assert (table[0], table[3]) == (1, 1)
    assert len(table) == DFA_HEADER + n_states + n_states * n_classes
    assert (n_states, n_classes) == (8, 6)  # minimal: dead + 7 live states; 6 byte classes


EDGE_LEADS = ["\xa0", "\u07ff", "\u0800", "\ufffc", "\U00010000", "\U0010fffd"]  # lead bytes C2 DF E0 EF F0 F4
# (pattern, values, what DuckDB 2.0.1 answers): the semantics the compiler must reproduce.
SEMANTICS = [
    (".", ["a", "\n", "\r", "\x00", "é", "日", "😀", "é" * 2], [True, False, True, True, True, True, True, False]),
    ("a.b", ["a\nb", "a\rb", "aéb"], [False, True, True]),
    (".", EDGE_LEADS, [True] * len(EDGE_LEADS)),  # one character each, whatever its UTF-8 length
    ("..", EDGE_LEADS, [False] * len(EDGE_LEADS)),
    (r"\s", [" ", "\t", "\n", "\r", "\x0c", "\x0b", "\xa0"], [True, True, True, True, True, False, False]),
    (r"\S", [" ", "\x0b", "é", "😀"], [False, True, True, True]),
    ("a$", ["a", "a\n"], [True, False]),
    ("^a", ["a", "\na"], [True, False]),
    ("^..$", ["é", "日", "😀", "ab", "aé"], [False, False, False, True, True]),
    ("[^a]", ["\n", "é", "😀", "a", "ab"], [True, True, True, False, False]),
    (r"\W\D", ["\n\n", "éé", "_0", "-x"], [True, True, False, True]),
    (r"\d\w", ["0a", "٣a", "0é", "0_"], [True, False, False, True]),
    (r"[^\d\D]", ["", "a", "é"], [False, False, False]),
    ("a|b$|^c", ["a", "b", "c", "", "ab"], [True, True, True, False, False]),
    ("^$", ["", "\n"], [True, False]),
    ("[]a-]", ["]", "a", "-", "b"], [True, True, True, False]),
    ("[a-c-e]", ["-", "d", "e"], [True, False, True]),
    (r"[\d-z]", ["-", "5", "z", "y"], [True, True, True, False]),
    ("a}", ["a}"], [True]),
    (r"\x{41}\x42", ["AB"], [True]),
    ("(a|ab)(c|bcd)(d*)", ["abcd", "acd", "abcdd", "abd"], [True, True, True, False]),
    ("(a*)*b+?", ["b", "aab", "", "aabb"], [True, True, False, True]),
    ("(?P<x>a){2}(?:b)", ["aab", "ab"], [True, False]),
]


@pytest.mark.parametrize(("pattern", "values", "expected"), SEMANTICS)
def test_semantics_pinned_against_duckdb(pattern: str, values: list[str], expected: list[bool]) -> None:
    assert duckdb_full_match(pattern, values) == expected  # the oracle still says what we verified
    table = compile_dfa(pattern)
    assert [dfa_full_match(table, v.encode()) for v in values] == expected


UNSUPPORTED = [
    ("(?i)abc", "inline flags"),
    ("(?s:.)", "inline flags"),
    ("(?=a)", "lookarounds"),
    (r"\bword", "word boundaries"),
    (r"a\B", "word boundaries"),
    (r"\Aa\z", "\\A and \\z"),
    ("a^b", "'^'"),
    ("(^a)", "'^'"),
    ("a$b", "'$'"),
    ("(a$)", "'$'"),
    ("^*a", "nothing to repeat"),
    ("[[:alpha:]]+", "POSIX"),
    (r"\pL+", "Unicode classes"),
    (r"[\p{Greek}]", "Unicode classes"),
    ("é+", "non-ASCII"),
    (r"\xe9", "non-ASCII"),
    (r"\x{65e5}", "non-ASCII"),
    (r"(a)\1", "backreferences"),
    (r"\0", "octal"),
    (r"\Qa.b\E", "\\Q"),
    (r"\C", "\\C"),
    ("a{,2}", "literal '{'"),
    ("a{01}", "literal '{'"),
    ("x{1,2000}", "counts above 1000"),
    ("x{3,2}", "max < min"),
    ("(a{10}){101}", "multiply past 1000"),
    ("a**", "two repeat operators"),
    ("a{2}{3}", "two repeat operators"),
    ("*a", "nothing to repeat"),
    ("(a", "missing ')'"),
    ("a)", "unbalanced ')'"),
    ("[a", "missing ']'"),
    ("[z-a]", "reversed range"),
    (r"[a-\d]", "end of a range"),
    ("a\\", "trailing backslash"),
    (r"\e", "the escape \\e"),
    ("(a|b)*a(a|b){12}", "too many states"),
    ("x{1,1000}", "counted repeats too large"),
    ("x{1,900}", "too many states"),
    ("[a-z]{300}", "too many states"),
    ("(.{1000}){1}", "counted repeats too large"),
]


@pytest.mark.parametrize(("pattern", "reason"), UNSUPPORTED)
def test_unsupported_names_the_construct(pattern: str, reason: str) -> None:
    with pytest.raises(Unsupported) as info:
        compile_dfa(pattern)
    assert reason in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(Unsupported):  # the cached failure raises again
        compile_dfa(pattern)


def test_state_cap_is_exact() -> None:
    """A chain of n counted characters needs n + 1 live states: 253 characters fit, 254 do not."""
    table = compile_dfa("a{253}")
    assert table[1] == MAX_LIVE_STATES + 1
    assert dfa_full_match(table, b"a" * 253) and not dfa_full_match(table, b"a" * 252)
    with pytest.raises(Unsupported, match="too many states"):
        compile_dfa("a{254}")


def test_compile_is_cached() -> None:
    assert compile_dfa("[a-f0-9]{8}") is compile_dfa("[a-f0-9]{8}")


# ---------------------------------------------------------------------------------------------
# The executor twin and the table validator, on a table written by hand.

# Accepts exactly b"ab": classes 0 = other bytes, 1 = 'a', 2 = 'b'; states 0 dead, 1 start, 2 after
# 'a', 3 after "ab" (accepting).
_CLASSES = bytearray(256)
_CLASSES[ord("a")], _CLASSES[ord("b")] = 1, 2
AB = bytes([1, 4, 3, 1, *_CLASSES, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0])


def test_twin_executor_on_a_hand_written_table() -> None:
    assert dfa_table_ok(AB)
    assert [dfa_full_match(AB, v) for v in [b"ab", b"", b"a", b"abb", b"ba", b"b", b"xab"]] == [
        True, False, False, False, False, False, False,
    ]  # fmt: skip


def _corrupt(offset: int, value: int) -> bytes:
    out = bytearray(AB)
    out[offset] = value
    return bytes(out)


@pytest.mark.parametrize(
    "table",
    [
        b"",
        AB[:-1],
        AB + b"\x00",
        AB[:DFA_HEADER],
        _corrupt(0, 2),  # version
        _corrupt(1, 1),  # S too small (and length off)
        _corrupt(1, 5),  # S disagrees with the length
        _corrupt(2, 0),  # no classes
        _corrupt(2, 4),  # C disagrees with the length
        _corrupt(3, 4),  # start out of range
        _corrupt(4 + ord("z"), 3),  # a byte class out of range
        _corrupt(DFA_HEADER + 3, 2),  # accept flag not 0/1
        _corrupt(DFA_HEADER, 1),  # dead state accepting
        _corrupt(DFA_HEADER + 4 + 1, 1),  # dead state leaves
        _corrupt(DFA_HEADER + 4 + 3 + 1, 4),  # transition to a state that does not exist
    ],
)
def test_validator_rejects_broken_tables(table: bytes) -> None:
    assert not dfa_table_ok(table)


@pytest.mark.parametrize("pattern", [EMAIL, "", "()", r"[^\d\D]", ".", "a{253}", "(a|b)*c"])
def test_compiled_tables_pass_the_validator(pattern: str) -> None:
    table = compile_dfa(pattern)
    assert dfa_table_ok(table)
    n_states = table[1]
    dead_row = table[DFA_HEADER + n_states : DFA_HEADER + n_states + table[2]]
    assert table[DFA_HEADER] == 0 and not any(dead_row)
