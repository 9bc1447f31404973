r"""Compile a ``pattern:`` rule into a byte-level DFA table for DuckDB's ``dq_dfa_match``.

Why: a rule ``pattern: '<regex>'`` becomes ``regexp_full_match(col, pattern)``, and on the
benchmark (10M e-mail addresses, ``^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$``) that
RE2 call costs ~1.8 CPU s, half of the whole check. The native extension's scalar function
``dq_dfa_match(VARCHAR, BLOB) -> BOOLEAN`` instead walks a precomputed table, one lookup per
byte, inside DuckDB's own threads. This module builds that table, and must accept exactly the
strings (as UTF-8 bytes) for which DuckDB's ``regexp_full_match(s, pattern)`` with default options
is true. The tests check that against DuckDB itself.

Supported subset (anything else raises :class:`Unsupported`, and the rule stays on RE2):

* ASCII literals, escaped punctuation (``\.``, ``\-``...), ``\t \n \r \f \v \a``, ``\xHH`` and
  ``\x{H...}`` below ``\x80``;
* ``.`` (any character but ``\n``: RE2's default, checked against DuckDB), ``\d \w \s`` (ASCII:
  ``[0-9]``, ``[0-9A-Za-z_]``, ``[\t\n\f\r ]`` -- no ``\v``), ``\D \W \S``, classes ``[...]`` with
  ranges and those escapes, negated classes ``[^...]``. A negated set (``.``, ``[^...]``, ``\D``...)
  also matches every non-ASCII character, i.e. a whole UTF-8 sequence of 2, 3 or 4 bytes;
* groups ``(...)``, ``(?:...)``, ``(?P<name>...)``, alternation, ``* + ? {m} {m,} {m,n}``, greedy or
  lazy (for a yes/no full match laziness changes nothing);
* ``^`` only at the start of the pattern or of a top-level alternative, ``$`` only at the end:
  ``regexp_full_match`` anchors anyway, so there they are no-ops.

Not supported: inline flags (``(?i)``...), ``\b \B \A \z``, ``\pL``, POSIX ``[[:alpha:]]``, octal
and backreference-like escapes, ``\Q...\E``, ``\C``, non-ASCII characters in the pattern, a ``{``
that is not a counted repeat (RE2 reads it as a literal; escape it), and patterns whose DFA
needs more than 254 live states or whose counted repeats expand to a huge NFA.

Pipeline: parse (own whitelist parser, RE2 syntax) -> Thompson NFA over bytes -> subset
construction over byte classes -> Moore minimisation -> merged byte classes -> table.

Caps: at most 254 live states (``^.{0,200}$`` already needs more: a byte-level DFA counts
characters and sits inside multi-byte ones), at most 1024 states before minimisation and
about 3000 NFA states, so a pathological pattern fails fast (within about a second).

Table (all integers single unsigned bytes; the C executor reads exactly this)::

    0             version = 1
    1             S = states including the dead state 0 (2..255)
    2             C = byte classes (1..255)
    3             start state
    4 .. 259      class of each byte value 0..255
    260 ..        accept flag per state (S bytes)
    260 + S ..    transitions, row-major: next = T[state * C + class] (S * C bytes)

State 0 is dead: non-accepting and every transition returns to 0. The compiler always starts
in state 1 and numbers states breadth-first; C stays far below 256 (bytes 0x80-0xFF only ever
form lead/continuation/invalid classes), so C is stored as is.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass

__all__ = ["MAX_LIVE_STATES", "Unsupported", "compile_dfa", "parse"]

VERSION = 1
HEADER = 260  # version, S, C, start, then 256 byte classes
MAX_LIVE_STATES = 254  # plus the dead state: S fits one byte
MAX_NFA_STATES = 3000  # bounds the work big counted repeats like x{1,1000} would cause
MAX_RAW_DFA_STATES = 1024  # subset-construction states before minimisation (bounds the work)
RE2_MAX_REPEAT = 1000  # RE2's cap on {m,n} counts, and on their product when nested


class Unsupported(ValueError):
    """The pattern uses something the DFA compiler does not handle; the rule stays on RE2.

    The message names the construct: ``dq explain`` shows it as the reason.
    """


# ---------------------------------------------------------------------------------------------
# Syntax tree. A character set is a mask over ASCII plus one flag for all non-ASCII characters:
# positive sets in the subset are pure ASCII, negated ones contain every non-ASCII character.


@dataclass(frozen=True)
class _Chars:
    ascii: int  # bit i set: code point i (< 128) is in the set
    non_ascii: bool  # every character >= U+0080 is in the set


@dataclass(frozen=True)
class _Concat:
    parts: tuple[_Node, ...]  # empty: matches the empty string


@dataclass(frozen=True)
class _Alt:
    options: tuple[_Node, ...]


@dataclass(frozen=True)
class _Repeat:
    body: _Node
    min: int
    max: int | None  # None: unbounded
    counted: bool  # written {m,n}: subject to RE2's nesting cap, unlike * + ?


_Node = _Chars | _Concat | _Alt | _Repeat


def _bits(chars: str) -> int:
    return sum(1 << ord(c) for c in set(chars))


_ALL_ASCII = (1 << 128) - 1
_DIGIT = _bits(string.digits)
_WORD = _bits(string.digits + string.ascii_letters + "_")
_SPACE = _bits("\t\n\f\r ")  # RE2's \s: no \v
_PERL = {
    "d": _Chars(_DIGIT, False),
    "D": _Chars(_ALL_ASCII & ~_DIGIT, True),
    "w": _Chars(_WORD, False),
    "W": _Chars(_ALL_ASCII & ~_WORD, True),
    "s": _Chars(_SPACE, False),
    "S": _Chars(_ALL_ASCII & ~_SPACE, True),
}
_DOT = _Chars(_ALL_ASCII & ~_bits("\n"), True)  # DuckDB's default: '.' does not match a newline
_C_ESCAPES = {"a": 0x07, "f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}
_ESCAPE_REASONS = {
    **dict.fromkeys(string.digits, "octal escapes and backreferences (\\0, \\1...)"),
    "b": "word boundaries (\\b, \\B)",
    "B": "word boundaries (\\b, \\B)",
    "A": "the anchors \\A and \\z (write ^ and $)",
    "z": "the anchors \\A and \\z (write ^ and $)",
    "p": "Unicode classes (\\pL, \\p{Greek})",
    "P": "Unicode classes (\\pL, \\p{Greek})",
    "C": "\\C (any single byte)",
    "Q": "\\Q...\\E quoting",
    "E": "\\Q...\\E quoting",
}
_COUNTED = re.compile(r"\{(0|[1-9][0-9]*)(?:(,)(0|[1-9][0-9]*)?)?\}")  # RE2: no leading zeros, else literal
_HEX = re.compile(r"\{([0-9A-Fa-f]{1,8})\}|([0-9A-Fa-f]{2})")
_NAMED_GROUP = re.compile(r"\?P<[A-Za-z0-9_]+>")


def _literal(code: int) -> _Chars:
    return _Chars(1 << code, False)


class _Parser:
    """Recursive descent over RE2 syntax, accepting only the whitelisted subset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.text[i] if i < len(self.text) else ""

    def take(self) -> str:
        c = self.peek()
        self.pos += 1
        return c

    def parse(self) -> _Node:
        node = self.alternation(top=True)
        if self.pos < len(self.text):  # only an unbalanced ')' ends the top level early
            raise Unsupported("an unbalanced ')'")
        return node

    def alternation(self, *, top: bool) -> _Node:
        options = [self.sequence(top=top)]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.sequence(top=top))
        return options[0] if len(options) == 1 else _Alt(tuple(options))

    def sequence(self, *, top: bool) -> _Node:
        parts: list[_Node] = []
        if top and self.peek() == "^":
            self.pos += 1
        while (c := self.peek()) not in ("", "|", ")"):
            if c == "$" and top and self.peek(1) in ("", "|"):
                self.pos += 1
                break
            if c in "^$":
                raise Unsupported(
                    f"'{c}' other than at the start ('^') or end ('$') of the pattern or of a top-level alternative"
                )
            parts.append(self.quantified(self.atom()))
        return parts[0] if len(parts) == 1 else _Concat(tuple(parts))

    def atom(self) -> _Node:
        c = self.take()
        if c == "(":
            if self.peek() == "?":
                if self.text.startswith("?:", self.pos):
                    self.pos += 2
                elif m := _NAMED_GROUP.match(self.text, self.pos):
                    self.pos = m.end()
                else:
                    raise Unsupported("'(?' other than (?:...) and (?P<name>...): inline flags like (?i), lookarounds")
            inner = self.alternation(top=False)
            if self.take() != ")":
                raise Unsupported("a missing ')'")
            return inner
        if c == "[":
            return self.char_class()
        if c == ".":
            return _DOT
        if c == "\\":
            if (perl := _PERL.get(self.peek())) is not None:
                self.pos += 1
                return perl
            return _literal(self.single_escape())
        if c in "*+?":
            raise Unsupported(f"a repeat operator '{c}' with nothing to repeat")
        if c == "{":
            raise Unsupported("a literal '{' (RE2 reads it so unless it is a counted repeat; write \\{)")
        return _literal(ord(c))

    def repeat_op(self) -> tuple[int, int | None, bool, int] | None:
        """The repeat operator at the cursor as (min, max, counted, length), without consuming it."""
        c = self.peek()
        if c == "*":
            return 0, None, False, 1
        if c == "+":
            return 1, None, False, 1
        if c == "?":
            return 0, 1, False, 1
        if c == "{" and (m := _COUNTED.match(self.text, self.pos)):
            lo = int(m[1])
            hi = lo if m[2] is None else (None if m[3] is None else int(m[3]))
            if lo > RE2_MAX_REPEAT or (hi is not None and not lo <= hi <= RE2_MAX_REPEAT):
                raise Unsupported(f"the repeat {m[0]} (RE2 rejects counts above {RE2_MAX_REPEAT} or max < min)")
            return lo, hi, True, m.end() - m.start()
        return None

    def quantified(self, node: _Node) -> _Node:
        op = self.repeat_op()
        if op is None:
            return node
        lo, hi, counted, length = op
        self.pos += length
        if self.peek() == "?":  # lazy: the same strings match
            self.pos += 1
        if self.repeat_op() is not None:
            raise Unsupported("two repeat operators in a row (like a** or a{2}{3})")
        return _Repeat(node, lo, hi, counted)

    def single_escape(self) -> int:
        """The code point of a one-character escape (after the backslash)."""
        c = self.take()
        if c == "":
            raise Unsupported("a trailing backslash")
        if not c.isalnum():
            return ord(c)  # escaped punctuation, space or control character: itself
        if c in _C_ESCAPES:
            return _C_ESCAPES[c]
        if c == "x":
            m = _HEX.match(self.text, self.pos)
            if m is None:
                raise Unsupported("a malformed \\x escape")
            self.pos = m.end()
            value = int(m[1] or m[2], 16)
            if value > 0x7F:
                raise Unsupported("non-ASCII characters (a \\x escape above \\x7f)")
            return value
        raise Unsupported(_ESCAPE_REASONS.get(c, f"the escape \\{c}"))

    def class_char(self) -> int:
        c = self.take()
        return self.single_escape() if c == "\\" else ord(c)

    def char_class(self) -> _Chars:
        negate = self.peek() == "^"
        if negate:
            self.pos += 1
        members, non_ascii = 0, False
        first = True  # a ']' right after '[' or '[^' is a literal
        while (c := self.peek()) != "]" or first:
            first = False
            if c == "":
                raise Unsupported("a missing ']'")
            if c == "[":
                raise Unsupported("'[' inside a class (POSIX classes like [[:alpha:]] are not supported; write \\[)")
            if c == "\\" and (perl := _PERL.get(self.peek(1))) is not None:
                self.pos += 2
                members |= perl.ascii
                non_ascii |= perl.non_ascii
                continue
            lo = self.class_char()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                if self.peek() == "\\" and self.peek(1) in _PERL:
                    raise Unsupported("a class escape like \\d as the end of a range")
                hi = self.class_char()
                if hi < lo:
                    raise Unsupported(f"the reversed range {chr(lo)!r}-{chr(hi)!r}")
                members |= ((1 << (hi + 1)) - 1) & ~((1 << lo) - 1)
            else:
                members |= 1 << lo
        self.pos += 1
        if negate:
            return _Chars(_ALL_ASCII & ~members, not non_ascii)
        return _Chars(members, non_ascii)


def _check_repeat_nesting(node: _Node, budget: int = RE2_MAX_REPEAT) -> None:
    """RE2 rejects nested counted repeats whose counts multiply past 1000, e.g. ``(a{10}){101}``."""
    if isinstance(node, _Repeat):
        if node.counted:
            count = node.max if node.max is not None else node.min
            if count > 0:
                budget //= count
            if budget == 0:
                raise Unsupported(
                    f"nested counted repeats whose counts multiply past {RE2_MAX_REPEAT} (RE2 rejects it)"
                )
        _check_repeat_nesting(node.body, budget)
    elif isinstance(node, _Concat):
        for part in node.parts:
            _check_repeat_nesting(part, budget)
    elif isinstance(node, _Alt):
        for option in node.options:
            _check_repeat_nesting(option, budget)


def _nfa_size(node: _Node) -> int:
    """Upper bound on the NFA states :class:`_Nfa` makes for ``node``."""
    if isinstance(node, _Chars):
        return 5 if node.non_ascii else 2
    if isinstance(node, _Concat):
        return 1 + sum(_nfa_size(p) for p in node.parts)
    if isinstance(node, _Alt):
        return 2 + sum(_nfa_size(o) for o in node.options)
    copies = node.min + 1 if node.max is None else node.max
    return 2 + (_nfa_size(node.body) + 1) * max(copies, 1)


# ---------------------------------------------------------------------------------------------
# Thompson NFA over bytes: each state has epsilon moves and byte-set moves (256-bit masks).

_CONT = sum(1 << b for b in range(0x80, 0xC0))  # UTF-8 continuation bytes
_UTF8_LEADS = (  # (lead bytes, continuation bytes that follow); DuckDB strings are valid UTF-8
    (sum(1 << b for b in range(0xC2, 0xE0)), 1),
    (sum(1 << b for b in range(0xE0, 0xF0)), 2),
    (sum(1 << b for b in range(0xF0, 0xF5)), 3),
)


class _Nfa:
    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.moves: list[list[tuple[int, int]]] = []

    def state(self) -> int:
        self.eps.append([])
        self.moves.append([])
        return len(self.eps) - 1

    def build(self, node: _Node) -> tuple[int, int]:
        """A fresh fragment for ``node``: (entry state, exit state)."""
        if isinstance(node, _Chars):
            entry, exit_ = self.state(), self.state()
            if node.ascii:
                self.moves[entry].append((node.ascii, exit_))
            if node.non_ascii:  # one whole non-ASCII character: a lead byte, then 1-3 continuation bytes
                to_go = [exit_]  # to_go[k]: k continuation bytes still to read; shared by all lead bytes
                for leads, tail in _UTF8_LEADS:
                    to_go.append(self.state())
                    self.moves[to_go[tail]].append((_CONT, to_go[tail - 1]))
                    self.moves[entry].append((leads, to_go[tail]))
            return entry, exit_
        if isinstance(node, _Concat):
            entry = exit_ = self.state()
            for part in node.parts:
                p_in, p_out = self.build(part)
                self.eps[exit_].append(p_in)
                exit_ = p_out
            return entry, exit_
        if isinstance(node, _Alt):
            entry, exit_ = self.state(), self.state()
            for option in node.options:
                o_in, o_out = self.build(option)
                self.eps[entry].append(o_in)
                self.eps[o_out].append(exit_)
            return entry, exit_
        entry = exit_ = self.state()
        for _ in range(node.min):
            b_in, b_out = self.build(node.body)
            self.eps[exit_].append(b_in)
            exit_ = b_out
        if node.max is None:  # then zero or more further copies
            b_in, b_out = self.build(node.body)
            end = self.state()
            self.eps[exit_] += [b_in, end]
            self.eps[b_out] += [b_in, end]
            return entry, end
        end = self.state()  # then up to max - min more, nested (x(x(x)?)?)? so closures stay small
        for _ in range(node.max - node.min):
            b_in, b_out = self.build(node.body)
            self.eps[exit_] += [b_in, end]
            exit_ = b_out
        self.eps[exit_].append(end)
        return entry, end

    def closure(self, states: set[int], final: int) -> frozenset[int]:
        """The states reachable by epsilon moves that matter: those with byte moves, and ``final``.

        Dropping the epsilon-only states lets subsets that behave alike meet as one DFA state.
        """
        seen = set(states)
        stack = list(states)
        while stack:
            for t in self.eps[stack.pop()]:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        return frozenset(t for t in seen if self.moves[t] or t == final)


def _byte_classes(masks: set[int]) -> list[int]:
    """Class of each byte: bytes in exactly the same masks share one."""
    ordered = sorted(masks)
    ids: dict[tuple[bool, ...], int] = {}
    return [ids.setdefault(tuple(bool(m >> b & 1) for m in ordered), len(ids)) for b in range(256)]


def _determinise(nfa: _Nfa, start: int, final: int) -> tuple[list[list[int]], list[bool], list[int]]:
    """Subset construction; raw state 0 is the empty set (dead), 1 the start. Returns (T, accept, byte class)."""
    byte_class = _byte_classes({mask for row in nfa.moves for mask, _ in row})
    n_classes = max(byte_class) + 1
    sample = [byte_class.index(c) for c in range(n_classes)]  # one byte of each class
    by_class: list[list[list[int]]] = [[[] for _ in range(n_classes)] for _ in nfa.moves]
    for s, row in enumerate(nfa.moves):
        for mask, t in row:
            for c, b in enumerate(sample):
                if mask >> b & 1:
                    by_class[s][c].append(t)
    dead, first = frozenset[int](), nfa.closure({start}, final)
    sets = [dead, first]
    index = {first: 1, dead: 0}  # a start that can match nothing is the dead state twice over
    table: list[list[int]] = []
    for current in sets:  # grows while we walk it
        row = []
        for c in range(n_classes):
            nxt = nfa.closure({t for s in current for t in by_class[s][c]}, final)
            if nxt not in index:
                if len(sets) >= MAX_RAW_DFA_STATES:
                    raise Unsupported(f"too many states: subset construction passed {MAX_RAW_DFA_STATES}")
                index[nxt] = len(sets)
                sets.append(nxt)
            row.append(index[nxt])
        table.append(row)
    return table, [final in s for s in sets], byte_class


def _minimise(table: list[list[int]], accept: list[bool]) -> list[int]:
    """Moore partition refinement: the block of each raw state (equal blocks = equivalent states)."""
    block = [int(a) for a in accept]
    count = len(set(block))
    while True:
        ids: dict[tuple[int, ...], int] = {}
        block = [ids.setdefault((block[s], *(block[t] for t in row)), len(ids)) for s, row in enumerate(table)]
        if len(ids) > MAX_LIVE_STATES + 1:  # blocks only split further
            raise Unsupported(f"too many states: the DFA needs more than {MAX_LIVE_STATES}")
        if len(ids) == count:
            return block
        count = len(ids)


def _encode(table: list[list[int]], accept: list[bool], byte_class: list[int], block: list[int]) -> bytes:
    """Renumber (dead block 0, the rest breadth-first from the start), merge byte classes, serialise."""
    dead = block[0]
    number = {dead: 0}
    rows: list[list[int]] = [[0] * len(table[0])]  # per new state: raw row of a representative
    flags = [False]
    queue = [1] if block[1] != dead else []
    if not queue:  # matches nothing: a non-accepting start that falls straight into the dead state
        rows.append([0] * len(table[0]))
        flags.append(False)
    for raw in queue:  # grows while we walk it
        if block[raw] in number:
            continue
        number[block[raw]] = len(rows)
        rows.append(table[raw])
        flags.append(accept[raw])
        queue.extend(t for t in table[raw] if block[t] not in number)
    trans = [[number[block[t]] for t in row] for row in rows]
    columns: dict[tuple[int, ...], int] = {}
    merged: dict[int, int] = {}
    for c in byte_class:  # byte order: the class of byte 0 is 0
        if c not in merged:
            merged[c] = columns.setdefault(tuple(row[c] for row in trans), len(columns))
    keep = {}
    for c, m in merged.items():
        keep.setdefault(m, c)
    n_states, n_classes = len(rows), len(columns)
    out = bytearray([VERSION, n_states, n_classes, 1])
    out += bytes(merged[c] for c in byte_class)
    out += bytes(int(f) for f in flags)
    for row in trans:
        out += bytes(row[keep[m]] for m in range(n_classes))
    return bytes(out)


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> bytes | str:
    """The table, or the reason the pattern is unsupported (kept as text: no traceback in the cache)."""
    try:
        if not pattern.isascii():
            raise Unsupported("non-ASCII characters in the pattern")
        tree = _Parser(pattern).parse()
        _check_repeat_nesting(tree)
        if _nfa_size(tree) > MAX_NFA_STATES:
            raise Unsupported("counted repeats too large for a DFA (like x{1,1000})")
        nfa = _Nfa()
        start, final = nfa.build(tree)
        table, accept, byte_class = _determinise(nfa, start, final)
        return _encode(table, accept, byte_class, _minimise(table, accept))
    except Unsupported as exc:
        return str(exc)


def compile_dfa(pattern: str) -> bytes:
    """The DFA table accepting exactly the values ``regexp_full_match(value, pattern)`` accepts.

    Raises :class:`Unsupported` (a ``ValueError``) naming the construct when the pattern is
    outside the supported subset; results, failures included, are cached per pattern.
    """
    result = _compile(pattern)
    if isinstance(result, str):
        raise Unsupported(result)
    return result


def parse(pattern: str) -> _Node:
    """The syntax tree of ``pattern`` in the supported subset (RE2's meaning, ``^``/``$`` at
    the ends already dropped); :class:`Unsupported` names what is outside it. Other
    dialects' regex writers (compilers/regex_are.py) start from this tree."""
    if not pattern.isascii():
        raise Unsupported("non-ASCII characters in the pattern")
    tree = _Parser(pattern).parse()
    _check_repeat_nesting(tree)
    return tree
