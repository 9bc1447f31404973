"""ODCS v3 rules -> dqgate rules: ``logicalTypeOptions``, relationships and ``quality``.

Each ODCS rule becomes the dqgate rule with the same verdict on every batch:

* a library metric whose bound says "none at all" (``mustBe: 0`` rows of nulls,
  invalid or duplicate values) becomes the column rule (``required``, ``in``,
  ``pattern``, ``unique``), which also gives samples and row quarantine;
* other bounds become a metric check: a builtin metric (``row_count``,
  ``null_count``, ``null_fraction``) or a SQL aggregate built with sqlglot;
* ODCS operators are strict or inclusive, dqgate's ``min``/``max`` are inclusive:
  a strict bound on a count becomes the next whole number, on a real value the
  next float (``math.nextafter``), so ``x < v`` and ``x <= bound`` agree on every value;
* ODCS patterns are searched for (JSON Schema), dqgate's must match the whole
  value: ``^...$`` without alternation is the same regex, anything else is wrapped.

Whatever has no equivalent is reported through ``out.skip`` with its position.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from dqgate.contract import model as m

if TYPE_CHECKING:
    from dqgate.contract.load import Path

OPERATORS = ("mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo", "mustBeLessThan",
             "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween")  # fmt: skip
OPERATOR_ALIASES = {"mustBeGreaterThanOrEqualTo": "mustBeGreaterOrEqualTo", "mustBeLessThanOrEqualTo": "mustBeLessOrEqualTo"}
"""Spellings some tools write for the standard's operators; read as the standard's."""

FORMATS = {"email": "email", "uuid": "uuid", "ipv4": "ipv4", "ipv6": "ipv6", "uri": "url", "url": "url",
           "date": "iso_date", "date-time": "iso_datetime", "iban": "iban", "json": "json", "luhn": "luhn"}  # fmt: skip
_WARN = {"warn", "warning", "info", "minor", "low"}
_ERROR = {"error", "critical", "major", "high", "blocker", "fail"}
_OBJECT = "__dq_odcs_object__"


# ---------------------------------------------------------------- patterns and bounds


def full_match(pattern: str) -> str:
    """The dqgate (whole-value) regex that matches what ODCS's searched ``pattern`` finds."""
    inner = _anchored_group(pattern)
    if inner is not None:
        return inner
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$") and "|" not in pattern:
        return pattern[1:-1]
    return f"(?s:.*)(?:{pattern})(?s:.*)"


def searched(regex: str) -> str:
    """The ODCS pattern of a dqgate whole-value regex (``full_match`` reads it back as ``regex``)."""
    return f"^{regex}$" if "|" not in regex and not regex.endswith("\\") else f"^(?:{regex})$"


def _anchored_group(pattern: str) -> str | None:
    """``Q`` when ``pattern`` is exactly ``^(?:Q)$`` (one group spanning the whole pattern)."""
    if not (pattern.startswith("^(?:") and pattern.endswith(")$")):
        return None
    depth, i = 0, 1
    while i < len(pattern) - 1:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":  # a character class: parentheses inside do not count
            j = i + 1
            while j < len(pattern) and pattern[j] != "]" or j == i + 1:
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            continue
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(pattern) - 2:
            return None
        i += 1
    return pattern[4:-2]


def bounds(q: dict[str, Any], *, whole: bool) -> tuple[float | None, float | None, str | None]:
    """The inclusive (min, max) a quality rule's operators allow, or a reason they cannot be said so.

    Args:
        q: the ODCS quality rule.
        whole: the metric only takes whole values (a count of rows), so a strict bound
            is the next whole number rather than the next float.
    """
    lo: float | None = None
    hi: float | None = None
    found = False
    for raw_key, value in q.items():
        key = OPERATOR_ALIASES.get(raw_key, raw_key)
        if key not in OPERATORS:
            continue
        found = True
        if key in ("mustNotBe", "mustNotBeBetween"):
            return None, None, f"'{raw_key}' (a value range to stay out of) has no dqgate equivalent"
        if key == "mustBeBetween":
            if not isinstance(value, list) or len(value) != 2 or not all(_number(v) for v in value):
                return None, None, "'mustBeBetween' takes two numbers"
            new_lo, new_hi = value
        elif not _number(value):
            return None, None, f"'{raw_key}' takes a number, not {value!r}"
        elif key == "mustBe":
            new_lo = new_hi = value
        elif key == "mustBeGreaterThan":
            new_lo, new_hi = (math.floor(value) + 1 if whole else math.nextafter(value, math.inf)), None
        elif key == "mustBeGreaterOrEqualTo":
            new_lo, new_hi = value, None
        elif key == "mustBeLessThan":
            new_lo, new_hi = None, (math.ceil(value) - 1 if whole else math.nextafter(value, -math.inf))
        else:
            new_lo, new_hi = None, value
        lo = new_lo if lo is None else (lo if new_lo is None else max(lo, new_lo))
        hi = new_hi if hi is None else (hi if new_hi is None else min(hi, new_hi))
    if not found:
        return None, None, "no operator (mustBe, mustBeLessThan, mustBeBetween, ...) says what the metric must be"
    return lo, hi, None


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def percent_to_fraction(v: float | None) -> float | None:
    """A percent bound as a fraction, in decimal arithmetic so ``dq export``'s ``fraction * 100`` reads back exactly."""
    return None if v is None else float(Decimal(repr(v)) / 100)


def fraction_to_percent(v: float | None) -> float | None:
    return None if v is None else float(Decimal(repr(v)) * 100)


# ---------------------------------------------------------------- logicalTypeOptions and relationships


def options(out: Any, opts: dict[str, Any], path: Path, col: str, ctype: str | None) -> None:
    """``minimum``/``maximum`` (exclusive ones too), ``pattern``, ``format``, ``minLength``/``maxLength``."""
    cpath: Path = ("schema", "columns", col)
    low, high = opts.get("minimum"), opts.get("maximum")
    xlow, xhigh = opts.get("exclusiveMinimum"), opts.get("exclusiveMaximum")
    # ODCS v3.0 wrote exclusiveMinimum/Maximum as booleans on minimum/maximum; v3.1 as the bound itself.
    if isinstance(xlow, bool):
        xlow, low = (low, None) if xlow else (None, low)
    if isinstance(xhigh, bool):
        xhigh, high = (high, None) if xhigh else (None, high)
    if low is None and high is None and xlow is not None and xhigh is not None:
        out.put((*cpath, "range"), {"min": xlow, "max": xhigh, "exclusive": True}, (*path, "exclusiveMinimum"))
        xlow = xhigh = None
    if low is not None or high is not None:
        out.put((*cpath, "range"), {k: v for k, v in (("min", low), ("max", high)) if v is not None}, (*path, "minimum" if low is not None else "maximum"))
    for bound, value in (("min", xlow), ("max", xhigh)):
        if value is not None:
            where = (*path, "exclusiveMinimum" if bound == "min" else "exclusiveMaximum")
            out.append("checks", {"column": col, "range": {bound: value, "exclusive": True}}, where)
    if opts.get("minLength") is not None or opts.get("maxLength") is not None:
        length = {k: opts[o] for k, o in (("min", "minLength"), ("max", "maxLength")) if opts.get(o) is not None}
        out.put((*cpath, "length"), length, (*path, "minLength" if "min" in length else "maxLength"))
    if isinstance(opts.get("pattern"), str):
        out.put((*cpath, "pattern"), full_match(opts["pattern"]), (*path, "pattern"))
    fmt = opts.get("format")
    if fmt is not None:
        if ctype not in (None, "string"):
            out.skip((*path, "format"), f"format '{fmt}' of '{col}' describes how a {ctype} is written, not a check", blocking=False)
        elif str(fmt).lower() in FORMATS:
            out.put((*cpath, "format"), FORMATS[str(fmt).lower()], (*path, "format"))
        else:
            out.skip((*path, "format"), f"string format '{fmt}' of '{col}' has no dqgate check (formats: {', '.join(FORMATS)})")
    for key in opts:
        if key not in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format"):
            if key in ("timezone", "defaultTimezone"):
                out.skip((*path, key), f"logicalTypeOptions '{key}' is how values are read, not a check", blocking=False)
            else:
                out.skip((*path, key), f"logicalTypeOptions '{key}' of '{col}' has no dqgate check")


def relationship(out: Any, rel: dict[str, Any], path: Path, *, column: str | None) -> None:
    """A property-level foreign key -> ``references: DATASET.COLUMN`` (its data path from the dqgate custom property)."""
    kind = rel.get("type") or "foreignKey"
    target = rel.get("to")
    if kind != "foreignKey":
        out.skip((*path, "type"), f"relationship type '{kind}' has no dqgate check (only foreignKey)")
        return
    source = rel.get("from")
    if column is None and isinstance(source, str):
        column = source.rpartition(".")[2]
    if column is None or not isinstance(target, str) or target.count(".") != 1:
        out.skip(path, "a composite or multi-column foreign key has no dqgate check (references name one column)")
        return
    if column not in out.value["schema"]["columns"]:
        out.skip(path, f"relationship from '{column}', which is not a property of this object")
        return
    out.append("checks", {"column": column, "references": target}, path, {("references",): (*path, "to")})


# ---------------------------------------------------------------- quality


def quality(out: Any, q: dict[str, Any], path: Path, *, column: str | None) -> None:
    """One ODCS quality rule as dqgate checks (or a not-mapped line)."""
    kind = q.get("type") or ("library" if q.get("metric") or q.get("rule") else None)
    if kind == "text":
        out.skip(path, "a text quality rule is a description, not a check", blocking=False)
        return
    if kind == "custom" or kind is None:
        engine = q.get("engine")
        what = f"custom quality rule for engine '{engine}'" if engine else f"quality rule of type '{kind}'"
        out.skip(path, f"{what} has no dqgate equivalent")
        return
    severity = _severity(q)
    if severity is None:
        out.skip((*path, "severity"), f"severity '{q.get('severity')}' is not error or warning")
        return
    common: dict[str, Any] = {}
    name = q.get("name") or q.get("id")
    if name:
        common["name"] = str(name)
    if severity == "warn":
        common["severity"] = "warn"
    if kind == "sql":
        _sql(out, q, path, column, common)
    elif kind == "library":
        _library(out, q, path, column, common)
    else:
        out.skip((*path, "type"), f"quality type '{kind}' is not library, sql, text or custom")


def _severity(q: dict[str, Any]) -> str | None:
    raw = q.get("severity")
    if raw is None:
        return "error"
    word = str(raw).lower()
    return "warn" if word in _WARN else "error" if word in _ERROR else None


def _metric(out: Any, path: Path, text: str, lo: float | None, hi: float | None, common: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    check: dict[str, Any] = {"metric": text, **common, **(extra or {})}
    if lo is not None:
        check["min"] = lo
    if hi is not None:
        check["max"] = hi
    out.append("checks", check, path)


def _library(out: Any, q: dict[str, Any], path: Path, column: str | None, common: dict[str, Any]) -> None:
    metric = q.get("metric") or q.get("rule")
    unit = str(q.get("unit") or "rows").lower()
    args = q.get("arguments") or {}
    if unit not in ("rows", "percent"):
        out.skip((*path, "unit"), f"unit '{unit}' is not rows or percent")
        return
    percent = unit == "percent"
    lo, hi, why = bounds(q, whole=not percent)
    if why:
        out.skip(path, f"{metric}: {why}")
        return
    none_allowed = not percent and hi is not None and hi < 1 and (lo is None or lo <= 0)
    if metric == "rowCount":
        if column is not None or percent:
            out.skip(path, "rowCount is a schema-level metric in rows")
            return
        _metric(out, path, "row_count", lo, hi, common)
        return
    if metric == "duplicateValues" and column is None:
        cols = args.get("properties")
        if not isinstance(cols, list) or not cols or not none_allowed:
            out.skip(path, "schema-level duplicateValues is mapped only as 'mustBe: 0' over a list of 'properties'")
            return
        if common:
            out.skip(path, "schema-level duplicateValues with a name or severity has no dqgate equivalent (schema.unique takes neither)")
            return
        out.value["schema"].setdefault("unique", []).append([str(c) for c in cols])
        out.spans[("schema", "unique", len(out.value["schema"]["unique"]) - 1)] = out.src.span(path)
        return
    if column is None:
        out.skip(path, f"metric '{metric}' needs a property (write it under the property's quality)")
        return
    col = exp.column(column, quoted=True)
    if metric == "nullValues":
        if none_allowed:
            out.append("checks", {"column": column, "required": True, **common}, path)
        elif percent:
            _metric(out, path, f"null_fraction({col.sql('duckdb')})", percent_to_fraction(lo), percent_to_fraction(hi), common)
        else:
            _metric(out, path, f"null_count({col.sql('duckdb')})", lo, hi, common)
        return
    if metric == "missingValues":
        values = args.get("missingValues", [None, ""])
        if not isinstance(values, list):
            out.skip((*path, "arguments"), "missingValues takes a list of the values that count as missing")
            return
        cond = _is_in(col, values)
        _metric(out, path, _count_sql(cond, percent), lo, hi, _named(out, common, column, metric))
        return
    if metric == "invalidValues":
        valid, pattern = args.get("validValues"), args.get("pattern")
        if valid is None and pattern is None:
            out.skip((*path, "arguments"), "invalidValues needs 'validValues' or 'pattern'")
            return
        if none_allowed:
            check: dict[str, Any] = {"column": column, **common}
            if valid is not None:
                check["in"] = list(valid)
            if pattern is not None:
                check["pattern"] = full_match(str(pattern))
            out.append("checks", check, path)
            return
        ok: list[exp.Expression] = []
        if valid is not None:
            ok.append(_is_in(col, valid))
        if pattern is not None:
            ok.append(exp.RegexpLike(this=col.copy(), expression=exp.Literal.string(str(pattern))))
        cond = exp.and_(exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null())), exp.Not(this=exp.Paren(this=exp.and_(*ok))))
        _metric(out, path, _count_sql(cond, percent), lo, hi, _named(out, common, column, metric))
        return
    if metric == "duplicateValues":
        if none_allowed:
            out.append("checks", {"column": column, "unique": True, **common}, path)
            return
        dupes = exp.Sub(this=exp.Count(this=col.copy()), expression=exp.Count(this=exp.Distinct(expressions=[col.copy()])))
        _metric(out, path, _ratio(dupes, percent).sql("duckdb"), lo, hi, _named(out, common, column, metric))
        return
    known = ("nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount")
    from dqgate.span import did_you_mean

    hint = did_you_mean(str(metric), known)
    out.skip((*path, "metric"), f"library metric '{metric}' has no dqgate equivalent.{hint}".rstrip("."))


def _named(out: Any, common: dict[str, Any], column: str, metric: str) -> dict[str, Any]:
    """A built SQL metric is named ``column.metricName`` (not by its SQL) unless the rule has a name."""
    if "name" in common:
        return common
    taken = {c.get("name") for c in out.value.get("checks", []) if isinstance(c, dict)}
    name, n = f"{column}.{metric}", 2
    while name in taken:
        name, n = f"{column}.{metric}#{n}", n + 1
    return {**common, "name": name}


def _literal(v: Any) -> exp.Expression:
    if isinstance(v, bool):
        return exp.Boolean(this=v)
    if _number(v):
        return exp.Literal.number(v)
    return exp.Literal.string(str(v))


def _is_in(col: exp.Expression, values: list[Any]) -> exp.Expression:
    """``col`` is one of ``values`` (a null among them matches NULL)."""
    present = [v for v in values if v is not None]
    parts: list[exp.Expression] = []
    if len(present) != len(values):
        parts.append(exp.Is(this=col.copy(), expression=exp.Null()))
    if present:
        parts.append(exp.In(this=col.copy(), expressions=[_literal(v) for v in present]))
    return exp.or_(*parts) if len(parts) > 1 else parts[0]


def _ratio(count: exp.Expression, percent: bool) -> exp.Expression:
    if not percent:
        return count
    return exp.Div(this=exp.Mul(this=exp.Literal.number("100.0"), expression=exp.Paren(this=count)), expression=exp.Count(this=exp.Star()))


def _count_sql(cond: exp.Expression, percent: bool) -> str:
    counted = exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=cond))
    return _ratio(counted, percent).sql("duckdb")


def _sql(out: Any, q: dict[str, Any], path: Path, column: str | None, common: dict[str, Any]) -> None:
    """``SELECT <aggregate> FROM {object} [WHERE ...]`` -> a metric (and its ``where:``), vetted later like any metric."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    text = q.get("query")
    if not isinstance(text, str) or not text.strip():
        out.skip(path, "a sql quality rule needs a 'query'")
        return
    lo, hi, why = bounds(q, whole=False)
    if why:
        out.skip(path, f"sql: {why}")
        return
    for placeholder in ("${object}", "{object}", "${table}", "{table}"):
        text = text.replace(placeholder, _OBJECT)
    if "{property}" in text or "{column}" in text:
        if column is None:
            out.skip((*path, "query"), "the query names {property} but the rule is not under a property")
            return
        quoted = exp.column(column, quoted=True).sql("duckdb")
        for placeholder in ("${property}", "{property}", "${column}", "{column}"):
            text = text.replace(placeholder, quoted)
    try:
        tree = sqlglot.parse_one(text.strip().rstrip(";"), read="duckdb")
    except SqlglotError as exc:
        out.skip((*path, "query"), f"the query does not parse: {str(exc).splitlines()[0]}")
        return
    shape = _one_aggregate_over_object(tree)
    if isinstance(shape, str):
        out.skip((*path, "query"), f"dqgate runs a query of the form SELECT <one aggregate> FROM {{object}} [WHERE ...]: {shape}")
        return
    metric, where = shape
    _metric(out, path, metric, lo, hi, common, {"where": where} if where else None)


def _one_aggregate_over_object(tree: exp.Expression) -> tuple[str, str | None] | str:
    if not isinstance(tree, exp.Select):
        return f"this is a {type(tree).__name__.upper()}"
    for part in ("joins", "group", "having", "order", "limit", "offset", "with", "distinct", "laterals", "qualify"):
        if tree.args.get(part):
            return f"it has {part.upper()}"
    source = tree.args.get("from") or tree.args.get("from_")
    table = source.this if source is not None else None
    if not isinstance(table, exp.Table) or table.name != _OBJECT or table.db:
        return "it must read {object} and nothing else"
    if len(tree.expressions) != 1:
        return f"it selects {len(tree.expressions)} values"
    value = tree.expressions[0]
    value = value.this if isinstance(value, exp.Alias) else value
    where = tree.args.get("where")
    return value.sql("duckdb"), (where.this.sql("duckdb") if where is not None else None)


def severity_name(severity: str) -> str:
    """The ODCS word for a dqgate severity."""
    return "warning" if severity == "warn" else "error"


TYPE_TO_LOGICAL = {t: ("integer" if t.startswith(("int", "uint")) or t == "integer" else
                       "number" if t.startswith("float") or t in ("number", "decimal") else
                       "boolean" if t == "bool" else "string" if t == "binary" else t)
                   for t in m.TYPE_NAMES}  # fmt: skip
