"""A pattern means on PostgreSQL exactly what it means on DuckDB (RE2's full match).

compilers/regex_are.py rewrites a pattern as a PostgreSQL regex; here random strings
(newlines, non-ASCII, NUL-free as PostgreSQL text must be) are matched by DuckDB's
``regexp_full_match`` and by the server's ``~`` with the rewritten regex, and must agree
on every string. Patterns it cannot rewrite exactly must be refused, never passed through.
"""

from __future__ import annotations

import os

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_server import execute

from dqgate.compilers import regex_dfa
from dqgate.compilers.duckdb.rows import FORMAT_DFAS
from dqgate.compilers.regex_are import to_are

PATTERNS = (
    "[a-z]+", "a.*", "(a|ab)c?", "[^a]*", ".{1,2}", "N[0-9]{1,5}[A-Z]{0,2}", "x|", "", ".*@.*", "^a$|^b",
    "\\d+", "\\w*\\s?\\W", "[\\d.]+", "[^\\s]+", "\\D\\S", "[-a]+", "[a\\-z]", "a{2,}", "(?:ab)*c+?", "(?P<n>a)b",
    "[\\]x]", "\\.", "\\t\\n", "[.]", "a\\+b", "\\x41", "[^\\n]*", "(a|)+", "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",
    *(regex for regex, _ in FORMAT_DFAS.values()),
)  # fmt: skip
REFUSED = ("é+", "\\bword", "(?i)abc", "\\pL", "[[:alpha:]]", "a{300}", "\\1", "a(?=b)")
ALPHABET = st.sampled_from(list("aAbBcxN09._-@+ \t\n\r\\]éü日😀\u00a0١"))


@pytest.mark.parametrize("pattern", REFUSED)
def test_patterns_postgres_would_read_differently_are_refused(pattern: str) -> None:
    with pytest.raises(regex_dfa.Unsupported):
        to_are(pattern)


@settings(max_examples=int(os.environ.get("DQGATE_PG_PARITY_EXAMPLES", "12")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(ALPHABET, max_size=8), min_size=1, max_size=40))
def test_postgres_regex_agrees_with_re2_on_random_strings(values: list[str], postgres_dsn: str) -> None:
    values += ["", "a", "ab", "abc", "a\n", "N123AB", "a@b.co", "550e8400-e29b-41d4-a716-446655440000", "192.168.0.1", "256.1.1.1"]
    con = duckdb.connect()
    re2 = con.execute("SELECT [regexp_full_match(s, p) FOR s IN $v::VARCHAR[]] FROM unnest($p::VARCHAR[]) WITH ORDINALITY AS t(p, i) ORDER BY i",
                      {"p": list(PATTERNS), "v": values}).fetchall()  # fmt: skip
    pg = execute(postgres_dsn, "SELECT array(SELECT s ~ p FROM unnest(%s::text[]) WITH ORDINALITY AS v(s, j) ORDER BY j) "
                 "FROM unnest(%s::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i", (values, [to_are(p) for p in PATTERNS]))  # fmt: skip
    for pattern, (want,), (got,) in zip(PATTERNS, re2, pg, strict=True):
        assert got == want, f"{pattern!r} -> {to_are(pattern)!r}: " + ", ".join(repr(v) for v, a, b in zip(values, want, got) if a != b)
