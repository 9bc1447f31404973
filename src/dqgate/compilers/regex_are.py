r"""An RE2 pattern as a PostgreSQL regular expression (ARE) with the same full-match meaning.

PostgreSQL's ``~`` is not RE2: ``.`` matches a newline there, ``\d``/``\w`` follow the
locale, ``[a-z]`` may follow a collation, bounds stop at 255. So the pattern is not
passed through: it is parsed by the DFA compiler's whitelist parser
(:func:`dqgate.compilers.regex_dfa.parse`, RE2's meaning, ASCII only) and written back
with nothing left to interpretation: every character set as explicit code points
(``\uHHHH`` and ranges of them), ``.`` as "anything but a newline", groups as
``(?:...)``, and the whole anchored ``^(?:...)$``. A pattern outside that subset (or
with a count above 255) raises :class:`~dqgate.compilers.regex_dfa.Unsupported`; the
PostgreSQL dialect then refuses the rule rather than run a near miss.
"""

from __future__ import annotations

from dqgate.compilers import regex_dfa
from dqgate.compilers.regex_dfa import _Alt, _Chars, _Concat, _Repeat  # the parser's tree (one stage)

PG_MAX_REPEAT = 255  # PostgreSQL's RE_DUP_MAX


def to_are(pattern: str) -> str:
    """``^(?:...)$``: a PostgreSQL ARE true of exactly the strings RE2 fully matches."""
    return f"^(?:{_write(regex_dfa.parse(pattern))})$"


def _write(node: object) -> str:
    if isinstance(node, _Chars):
        return _chars(node)
    if isinstance(node, _Concat):
        return "".join(f"(?:{_write(p)})" if isinstance(p, _Alt) else _write(p) for p in node.parts)
    if isinstance(node, _Alt):
        return "(?:" + "|".join(_write(o) for o in node.options) + ")"
    if isinstance(node, _Repeat):
        if node.min > PG_MAX_REPEAT or (node.max or 0) > PG_MAX_REPEAT:
            raise regex_dfa.Unsupported(f"a count above {PG_MAX_REPEAT} (PostgreSQL's limit)")
        body = f"(?:{_write(node.body)})"
        if node.max is None:
            return body + ("*" if node.min == 0 else "+" if node.min == 1 else f"{{{node.min},}}")
        return body + ("?" if (node.min, node.max) == (0, 1) else f"{{{node.min},{node.max}}}")
    raise AssertionError(node)


def _chars(node: _Chars) -> str:
    """A bracket expression of explicit code points; negated when non-ASCII is included.
    NUL is left out (PostgreSQL text cannot hold it)."""
    inside = [c for c in range(1, 128) if node.ascii >> c & 1]
    if node.non_ascii:
        outside = [c for c in range(1, 128) if not node.ascii >> c & 1]
        return f"[^{_runs(outside)}]" if outside else "(?:.|\\n)"
    if not inside:
        raise regex_dfa.Unsupported("an empty character set")
    if len(inside) == 1 and chr(inside[0]).isalnum():
        return chr(inside[0])
    return f"[{_runs(inside)}]"


def _runs(codes: list[int]) -> str:
    out, i = [], 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        out.append(_code(codes[i]) if i == j else f"{_code(codes[i])}-{_code(codes[j])}")
        i = j + 1
    return "".join(out)


def _code(c: int) -> str:
    """A letter or digit as itself (ARE is case-sensitive by default), anything else by code point."""
    return chr(c) if chr(c).isalnum() else f"\\u{c:04x}"
