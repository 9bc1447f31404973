"""DuckDB's functions and how many arguments each takes, known without importing DuckDB.

`dq lint` must catch ``lenght(cultivar)`` or ``round(x, 1, 2)`` before a check runs,
and must stay fast (no engine import), so it reads a catalogue generated from
DuckDB's own binder by ``scripts/gen_duckdb_functions.py`` (checked in as
``duckdb_functions.json``; tests/contract/test_function_catalogue.py compares it with
the installed DuckDB). Calls are read from the SQL's tokens as written, because
sqlglot drops surplus arguments of functions it knows (``length(a, b)`` parses as
``length(a)``).
"""

from __future__ import annotations

import functools
import json
import os
from typing import NamedTuple

from sqlglot.tokens import TokenType

from dqgate.span import did_you_mean

_CATALOGUE = os.path.join(os.path.dirname(__file__), "duckdb_functions.json")
# Calls whose arguments are SQL syntax, not a comma list (CAST(x AS INT), TRIM(BOTH ' ' FROM s)).
_SYNTAX = frozenset({"cast", "try_cast", "extract", "trim", "position", "overlay", "substring", "columns", "exists", "any", "all", "some"})


class Call(NamedTuple):
    name: str
    args: int
    offset: int  # where the name starts in the text


@functools.cache
def catalogue() -> tuple[dict[str, tuple[int, ...]], int]:
    """``({function: accepted argument counts}, max_args)``; a function accepting
    ``max_args`` accepts any number from there on."""
    with open(_CATALOGUE, encoding="utf-8") as fh:
        data = json.load(fh)
    return {name: tuple(counts) for name, counts in data["functions"].items()}, int(data["max_args"])


def calls(text: str) -> list[Call]:
    """Every ``name(...)`` call in ``text`` with its argument count as written; qualified
    (``s.f()``) and quoted names, and keywords (``left``, ``filter``), are not calls of a
    catalogued function and are left out."""
    from sqlglot.dialects.duckdb import DuckDB

    tokens = DuckDB().tokenize(text)
    found = []
    for i, tok in enumerate(tokens[:-1]):
        if tok.token_type != TokenType.VAR or tokens[i + 1].token_type != TokenType.L_PAREN:
            continue
        if (i and tokens[i - 1].token_type == TokenType.DOT) or tok.text.lower() in _SYNTAX:
            continue
        depth, args, j = 0, 0, i + 1
        for j in range(i + 1, len(tokens)):
            kind = tokens[j].token_type
            if kind in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE):
                depth += 1
            elif kind in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE):
                depth -= 1
                if depth == 0:
                    break
            elif depth == 1:
                args = max(args, 1)
                if kind == TokenType.COMMA:
                    args += 1
        found.append(Call(tok.text.lower(), args, tok.start))
    return found


def problem(call: Call) -> str | None:
    """Why DuckDB would refuse ``call`` (unknown name, wrong argument count), or None."""
    known, most = catalogue()
    counts = known.get(call.name)
    if counts is None:
        hint = did_you_mean(call.name, known)
        return f"unknown function '{call.name}'.{hint}".rstrip(".") if hint else f"unknown function '{call.name}' (not a DuckDB function)"
    if call.args in counts or (most in counts and call.args >= most):
        return None
    return f"function '{call.name}' takes {_counts(counts, most)}, not {call.args}"


def _counts(counts: tuple[int, ...], most: int) -> str:
    noun = "argument" if counts == (1,) else "arguments"
    if most in counts:
        return f"{counts[0]} or more {noun}"
    if len(counts) == 1:
        return f"{counts[0]} {noun}"
    if len(counts) > 2 and counts == tuple(range(counts[0], counts[-1] + 1)):
        return f"{counts[0]} to {counts[-1]} {noun}"
    return f"{', '.join(map(str, counts[:-1]))} or {counts[-1]} {noun}"
