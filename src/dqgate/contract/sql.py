"""Parse and vet the SQL fragments a contract may carry (``expect``, ``where``, metrics).

A fragment is parsed with sqlglot (DuckDB dialect) into exactly one expression and
then walked: statements (DDL, DML, COPY, ATTACH, INSTALL, LOAD, PRAGMA, SET, ...),
parameters, and functions that reach outside the data (``read_csv``, ``glob``,
``getenv``, ...) are refused; subqueries may read only datasets declared under
``references:``; every other column must be a declared column. The vetted
expression is returned with its column names rewritten to the declared spelling
and quoted, so compilers never paste user text into a statement.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from dqgate.contract.sql_values import Fragment
from dqgate.span import did_you_mean

logging.getLogger("sqlglot").setLevel(logging.CRITICAL)

DIALECT = "duckdb"

_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "DDL", "DML", "Command", "Copy", "Attach", "Detach", "Install", "Pragma", "Set", "Use",
        "Transaction", "Commit", "Rollback", "Describe", "Show", "Drop", "Alter", "Create", "Insert",
        "Update", "Delete", "Merge", "LoadData", "Cache", "Uncache", "Refresh", "Analyze", "Grant",
        "Revoke", "Summarize", "Export", "Placeholder", "Parameter", "SessionParameter", "ReadCSV",
        "ReadParquet", "Into", "Lateral", "Unnest", "Values",
    )
    if hasattr(exp, name)
)  # fmt: skip

_PARAMETERS = tuple(getattr(exp, n) for n in ("Placeholder", "Parameter", "SessionParameter") if hasattr(exp, n))

# Functions that read files, URLs, the environment or the catalog: never in a contract.
_FORBIDDEN_FUNCTION = re.compile(
    r"^(read_\w*|\w*_scan|scan_\w*|glob|getenv|current_setting|query|query_table|sniff_csv|"
    r"parquet_\w+|load\w*|install\w*|duckdb_\w+|pragma_\w+|sql_auto_complete|which_secret|"
    r"\w*_attach|http\w*|iceberg_\w+|delta_\w+|postgres_\w+|sqlite_\w+|mysql_\w+|json_execute_serialized_sql|"
    r"test_\w+|enable_\w+|disable_\w+|set_\w+|checkpoint|force_checkpoint|export_\w*|import_\w*)$",
    re.IGNORECASE,
)


class SqlProblem(ValueError):
    """A fragment is not acceptable; the message is ready for the user."""


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    return node.sql_name() if isinstance(node, exp.Func) else type(node).__name__


def _parse_one(text: str) -> exp.Expression:
    try:
        parsed = sqlglot.parse(text, read=DIALECT)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        desc = str(first.get("description", "cannot parse")).split(". Line")[0]
        if desc.startswith("Required keyword"):
            desc = "the expression is incomplete"
        where = f" at column {first['col']}" if first.get("col") else ""
        raise SqlProblem(f"invalid SQL{where}: {desc}") from None
    except Exception:  # sqlglot's tokenizer raises TokenError and friends
        raise SqlProblem("invalid SQL: cannot split it into tokens (an unclosed quote?)") from None
    statements = [p for p in parsed if p is not None]
    if len(statements) != 1:
        raise SqlProblem(f"expected one SQL expression, found {len(statements)} statements (';' is not allowed)")
    return statements[0]


# Fragments already vetted in this process, by (text, aggregate, references): a contract
# repository repeats its `where:` and `expect:` texts across rules and files, and a lint of
# many contracts parsed each again. A kept fragment is reused only when every column it
# reads is declared under its own name in the asking contract, which is all its result
# depends on the columns for; anything else is vetted afresh (and errors are never kept).
_VETTED: dict[tuple[str, bool, tuple[str, ...]], Fragment] = {}


def vet(
    text: str,
    *,
    columns: dict[str, str],
    references: tuple[str, ...] = (),
    aggregate: bool,
) -> Fragment:
    """Parse a fragment and check it is a safe expression over declared columns.

    Args:
        text: the SQL as written in the contract.
        columns: declared column names (matched exactly, case included).
        references: dataset names a subquery may read.
        aggregate: True for a metric (must aggregate), False for a row predicate.

    Returns:
        The vetted fragment, re-rendered with quoted, declared column names.

    Raises:
        SqlProblem: the fragment does not parse, is a statement, reaches outside
            the data, or names an unknown column.
    """
    if not isinstance(text, str) or not text.strip():
        raise SqlProblem("empty SQL expression")
    key = (text, aggregate, tuple(references))
    known = _VETTED.get(key)
    if known is not None and all(columns.get(name) == name for name in known.columns):
        return known
    tree = _parse_one(text)
    if isinstance(tree, (exp.Select, exp.Union, exp.Query)):
        raise SqlProblem(f"a query ({type(tree).__name__.upper()}) is not allowed; write an expression over columns")
    if isinstance(tree, _FORBIDDEN_NODES):
        raise SqlProblem(f"'{_first_word(text)}' statements are not allowed; write an expression over columns")
    used: list[str] = []
    exact = True  # every column named as declared: the result may be kept for reuse
    has_agg = False
    for node in tree.walk():
        if isinstance(node, exp.Func) and _FORBIDDEN_FUNCTION.match(_function_name(node)):
            raise SqlProblem(f"function '{_function_name(node).lower()}' reaches outside the data and is not allowed")
        if isinstance(node, _PARAMETERS):
            raise SqlProblem(f"parameter '{node.sql(DIALECT)}' is not allowed; write the value into the expression")
        if isinstance(node, _FORBIDDEN_NODES):
            raise SqlProblem(f"'{type(node).__name__.upper()}' is not allowed in a contract expression")
        if isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier) or node.args.get("db") or node.args.get("catalog"):
                raise SqlProblem("a subquery may only read a dataset declared under 'references:'")
            if node.name not in references:  # exactly: 'A' and 'a' are two datasets
                hint = did_you_mean(node.name, references)
                raise SqlProblem(f"unknown dataset '{node.name}' in a subquery (declare it under 'references:').{hint}".rstrip("."))
            node.set("this", exp.to_identifier(_ref_view(node.name), quoted=True))
        if isinstance(node, exp.AggFunc) and node.find_ancestor(exp.Select) is None:
            has_agg = True
        if isinstance(node, exp.Window) and not aggregate:
            raise SqlProblem("window functions are not allowed in a row-level expression")
        if isinstance(node, exp.Column) and node.find_ancestor(exp.Select) is None:
            name = node.name
            if node.table:
                raise SqlProblem(f"qualified column '{node.sql(DIALECT)}' is not allowed; name the column alone")
            declared = columns.get(name)
            if declared is None:
                hint = did_you_mean(name, columns.values())
                known = sorted(columns.values())
                listed = f" (columns: {', '.join(known)})" if 0 < len(known) <= 12 else ""
                raise SqlProblem(f"unknown column '{name}'.{hint}" if hint else f"unknown column '{name}'{listed}")
            used.append(declared)
            exact &= declared == name
            node.set("this", exp.to_identifier(declared, quoted=True))
    if aggregate and not has_agg and not _has_anonymous_call(tree):
        raise SqlProblem("a metric must be an aggregate expression (count, sum, avg, ...)")
    if not aggregate and has_agg:
        raise SqlProblem("aggregate functions are not allowed in a row-level expression; use 'metric:'")
    from dqgate.contract import functions

    for call in functions.calls(text):  # what DuckDB's binder would refuse at run time
        wrong = functions.problem(call)
        if wrong:
            raise SqlProblem(wrong)
    fragment = Fragment(tree.sql(DIALECT), tuple(dict.fromkeys(used)), has_agg)
    if exact:
        _VETTED[key] = fragment
    return fragment


def _has_anonymous_call(tree: exp.Expression) -> bool:
    return any(isinstance(n, exp.Anonymous) for n in tree.walk())


def _first_word(text: str) -> str:
    return text.strip().split(None, 1)[0].upper() if text.strip() else ""


_PLAIN_REF = re.compile(r"^[a-z][a-z0-9_]*$")


def _ref_view(name: str) -> str:
    """The view name under which a reference dataset is registered for a check.

    DuckDB matches names case-insensitively, so only a lower-case plain name is kept as
    it is; any other name is spelled in hex (``__dq_ref__4161``), which keeps ``A`` and
    ``a`` apart and keeps quotes out of the view name. The two forms cannot collide: a
    plain name starts with a letter, a hex one with ``_``.
    """
    if _PLAIN_REF.match(name):
        return f"__dq_ref_{name}"
    return f"__dq_ref__{name.encode().hex()}"


ref_view = _ref_view


def parse_expression(sql: str) -> exp.Expression:
    """Re-parse a vetted fragment for a compiler (the text is already canonical)."""
    return sqlglot.parse_one(sql, read=DIALECT)


_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")


@functools.lru_cache(maxsize=256)
def readable(sql: str) -> str:
    """A vetted fragment as a person would write it: identifiers that need no quotes lose
    them (``arr_delay >= dep_delay - 20``), for reports; the compiled form keeps them."""
    from sqlglot.tokens import Tokenizer

    try:
        tree = sqlglot.parse_one(sql, read=DIALECT)
    except Exception:  # noqa: BLE001  (a report shows the text as it is)
        return sql
    for ident in tree.find_all(exp.Identifier):
        if ident.quoted and _PLAIN_NAME.fullmatch(ident.name) and ident.name.upper() not in Tokenizer.KEYWORDS:
            ident.set("quoted", False)
    return tree.sql(DIALECT)
