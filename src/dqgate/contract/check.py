"""Validate a loaded YAML document into a typed :class:`Contract`, reporting every problem.

Per-field shape comes from ``model.py`` (pydantic); this module turns pydantic's
error locations into ``file:line:col`` with "did you mean" hints, and adds the
checks that need more than one field: unknown columns, impossible thresholds,
regexes that RE2 (DuckDB's regex engine) cannot compile, unsafe or unknown SQL.
All problems of a file are collected and raised together.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
import types
import typing
from typing import TYPE_CHECKING, Any

from dqgate.contract import bounds, sql_cache
from dqgate.contract.contract import Contract
from dqgate.contract.load import Document, Path
from dqgate.contract.names import COLUMN_RULES, TYPE_NAMES
from dqgate.errors import ContractError
from dqgate.span import did_you_mean

if TYPE_CHECKING:
    from pydantic import BaseModel

    from dqgate.contract import model as m
    from dqgate.contract.sql_values import Fragment

_STRING_TYPES = {"string"}
_NUMERIC_TYPES = {t for t in TYPE_NAMES if t.startswith(("int", "uint", "float")) or t in ("number", "decimal", "integer")}
_TEMPORAL_TYPES = {"date", "timestamp", "time"}


class _Problems:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.items: list[tuple[int, int, str]] = []

    def add(self, path: Path, message: str) -> None:
        span = self.doc.span(path)
        self.items.append((span.line, span.col, f"{span}: {message}"))

    def raise_if_any(self) -> None:
        if self.items:
            ordered = tuple(msg for _, _, msg in sorted(set(self.items)))
            raise ContractError(ordered[0], problems=ordered)


def build_contract(doc: Document) -> Contract:
    """Validate ``doc`` and return the typed contract.

    Raises:
        ContractError: with every problem in the file (``.problems``), first one as message.
    """
    from dqgate.contract import model as m  # pydantic: only here and in the messages of its errors

    problems = _Problems(doc)
    if not isinstance(doc.value, dict):
        problems.add((), "a contract is a mapping with at least 'dataset:'")
        problems.raise_if_any()
    for path in _nan_values(doc.value, ()):
        problems.add(path, "NaN is not a usable value: every comparison with NaN is false; write a number")
    model = _validate(m.ContractModel, doc.value, (), problems)
    checks: list[tuple[str, BaseModel]] = []
    raw_checks = doc.value.get("checks") if isinstance(doc.value, dict) else None
    for i, raw in enumerate(raw_checks if isinstance(raw_checks, list) else []):
        checks.append(_validate_check(raw, ("checks", i), problems))
    if model is None:
        # Still run the cross-field checks on what is valid, so one run reports every problem.
        model = _pruned_model(doc.value)
        if model is None:
            problems.raise_if_any()
    assert model is not None
    fragments = _cross_checks(model, checks, problems)
    problems.raise_if_any()
    sha = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    return Contract(
        model=model,
        checks=tuple(c for _, c in checks if c is not None),
        fragments=fragments,
        path=doc.file,
        sha256=sha,
        doc=doc,
    )


def proven_contract(doc: Document) -> Contract | None:
    """``doc`` as a contract without any problem, built without pydantic when that can be
    proven: ``shape.py`` shows the YAML has the models' shape (building the values
    pydantic would) and the cross-field checks find nothing. None means "not shown",
    never "has problems": :func:`build_contract` then validates with pydantic and says
    what is wrong. For `dq lint` (its verdict, and ``--against``'s comparison, which
    reads the same attributes): the records are not pydantic models, so nothing that
    compiles or runs a contract takes this path."""
    from dqgate.contract import shape

    value = doc.value
    if not isinstance(value, dict) or _nan_values(value, ()):
        return None
    model = shape.proven(shape.contract, value)
    if model is None:
        return None
    checks: list[tuple[str, Any]] = []
    for raw in value.get("checks") or []:
        kinds = [k for k in shape.CHECKS if k in raw] if isinstance(raw, dict) else []
        check = shape.proven(shape.CHECKS[kinds[0]], raw) if len(kinds) == 1 else None
        if check is None:
            return None
        checks.append((kinds[0], check))
    problems = _Problems(doc)
    fragments = _cross_checks(model, checks, problems)
    if problems.items:
        return None
    sha = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    return Contract(model=model, checks=tuple(c for _, c in checks), fragments=fragments, path=doc.file, sha256=sha, doc=doc)


def _nan_values(tree: Any, path: Path) -> list[Path]:
    """Where the YAML holds ``.nan`` (a bound, an ``in:`` value, ...)."""
    if isinstance(tree, float) and tree != tree:
        return [path]
    if isinstance(tree, dict):
        return [p for k, v in tree.items() for p in _nan_values(v, (*path, k))]
    if isinstance(tree, list):
        return [p for i, v in enumerate(tree) for p in _nan_values(v, (*path, i))]
    return []


def _validate(cls: type[BaseModel], value: Any, base: Path, problems: _Problems) -> Any:
    from pydantic import ValidationError

    from dqgate.contract import model as m

    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        column = value.get("column") if isinstance(value, dict) else None
        for err in exc.errors():
            loc = tuple(base) + tuple(p for p in err["loc"] if not m.is_union_tag(p))
            problems.add(loc, _describe(cls, err, loc, base, column=column))
        return None


def _pruned_model(value: dict[str, Any]) -> m.ContractModel | None:
    """The contract with each invalid part dropped (a bad column spec becomes ``{}``), or None.

    None when pruning would hide declared columns (every check on them would then
    report a spurious "unknown column") or does not make the contract valid.
    """
    from pydantic import ValidationError

    from dqgate.contract import model as m

    current = copy.deepcopy(value)
    for _ in range(8):
        try:
            pruned = m.ContractModel.model_validate(current)
        except ValidationError as exc:
            if not all(_drop(current, tuple(p for p in err["loc"] if not m.is_union_tag(p))) for err in exc.errors()):
                return None
            continue
        raw_columns = value.get("schema", {}).get("columns") if isinstance(value.get("schema"), dict) else None
        if isinstance(raw_columns, dict) and len(raw_columns) != len(pruned.schema_.columns):
            return None
        return pruned
    return None


def _drop(tree: Any, loc: tuple[Any, ...]) -> bool:
    """Remove the deepest existing node along ``loc``; False when there is nothing to remove."""
    parent, key = None, None
    node = tree
    for part in loc:
        if isinstance(node, dict) and part in node:
            parent, key, node = node, part, node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            parent, key, node = node, part, node[part]
        else:
            break
        if part in ("range", "length", "freshness", "in", "between"):
            break  # drop the whole rule, not one bound: half a rule would be a new problem
    if parent is None or key in ("dataset", "schema", "columns"):
        return False
    if isinstance(parent, dict) and parent is _columns_of(tree):
        parent[key] = {}
    elif isinstance(parent, dict):
        del parent[key]
    else:
        return False
    return True


def _columns_of(tree: Any) -> Any:
    schema = tree.get("schema") if isinstance(tree, dict) else None
    return schema.get("columns") if isinstance(schema, dict) else None


_NOT_A_CHECK = "a check is a mapping with 'expect:', 'metric:' or 'column:'"


def _validate_check(raw: Any, path: Path, problems: _Problems) -> tuple[str, Any]:
    from dqgate.contract import model as m

    if not isinstance(raw, dict):
        problems.add(path, _NOT_A_CHECK)
        return ("", None)
    kinds = [k for k in m.CHECK_MODELS if k in raw]
    if len(kinds) != 1:
        if not kinds:
            hint = ""
            for key in raw:
                hint = hint or did_you_mean(str(key), m.CHECK_MODELS)
            msg = f"a check needs exactly one of 'expect', 'metric' or 'column'.{hint}".rstrip(".")
        else:
            msg = f"a check has one of 'expect', 'metric' or 'column', not {' and '.join(kinds)}"
        problems.add(path, msg)
        return ("", None)
    return (kinds[0], _validate(m.CHECK_MODELS[kinds[0]], raw, path, problems))


def _candidates(annotation: Any) -> list[Any]:
    """Concrete types behind Optional / Union / Annotated."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _candidates(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [c for arg in typing.get_args(annotation) for c in _candidates(arg)]
    return [annotation]


def _model_at(root: type[BaseModel], rel: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at relative path ``rel``."""
    from pydantic import BaseModel

    current: list[Any] = [root]
    for part in rel:
        following: list[Any] = []
        for cand in current:
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                field = _field_by_alias(cand, str(part))
                if field is not None:
                    following += _candidates(field.annotation)
            elif typing.get_origin(cand) in (dict, list):
                following += _candidates(typing.get_args(cand)[-1])
        current = following
    models = [c for c in current if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if models else None


def _field_by_alias(cls: type[BaseModel], key: str) -> Any:
    for name, field in cls.model_fields.items():
        if (field.alias or name) == key:
            return field
    return None


def _keys(cls: type[BaseModel] | None) -> list[str]:
    if cls is None:
        return []
    return [f.alias or n for n, f in cls.model_fields.items()]


_LIMITS = {"less_than_equal": ("le", "at most"), "less_than": ("lt", "less than"),
           "greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "greater than")}  # fmt: skip
_SHAPES = {"string_type": "text (quote it)", "bool_type": "true or false", "bool_parsing": "true or false",
           "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
           "float_type": "a number", "float_parsing": "a number", "list_type": "a list",
           "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping"}  # fmt: skip


def _subject(loc: Path) -> str:
    """How a message names the value at ``loc``: ``'mostly'``, ``'between'[2]``, ``column 'x'``."""
    if not loc:
        return "the contract"
    if len(loc) >= 2 and loc[-2] == "columns" and isinstance(loc[-1], str):
        return f"column '{loc[-1]}'"
    if isinstance(loc[-1], int) and len(loc) >= 2:
        return f"'{loc[-2]}'[{loc[-1]}]"
    return f"'{loc[-1]}'"


def _describe(cls: type[BaseModel], err: Any, loc: Path, base: Path, *, column: Any = None) -> str:
    from dqgate.contract import model as m

    kind = err["type"]
    rel = tuple(loc[len(base) :])
    if kind == "extra_forbidden":
        key = str(loc[-1])
        owner = _model_at(cls, rel[:-1])
        if key == "nulls" and owner in (m.ColumnSpec, m.ColumnCheck):
            col = loc[-2] if owner is m.ColumnSpec else column
            return f"'nulls' is an option of a uniqueness rule (unique: {{nulls: {err.get('input')}}}), and column '{col}' has none here"
        choices = _keys(owner)
        hint = did_you_mean(key, choices)
        if owner in (m.ColumnSpec, m.ColumnCheck):
            col = loc[-2] if owner is m.ColumnSpec else column
            return f"unknown rule '{key}' for column '{col}'.{hint}".rstrip(".") if hint else f"unknown rule '{key}' for column '{col}' (rules: {', '.join(m.COLUMN_RULES)})"
        where = f" in '{loc[-2]}'" if len(loc) > 1 and isinstance(loc[-2], str) else ""
        return f"unknown key '{key}'{where}.{hint}".rstrip(".") if hint else f"unknown key '{key}'{where} (allowed: {', '.join(choices)})"
    if kind == "missing":
        return f"missing required key '{loc[-1]}'"
    if kind in ("literal_error", "enum"):
        expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        got = err.get("input")
        hint = did_you_mean(str(got), expected)
        return f"'{got}' is not a valid {loc[-1]} (expected one of: {', '.join(expected)}).{hint}".rstrip(".")
    if kind == "string_pattern_mismatch":
        if loc and loc[-1] == "version":
            return f"version '{err.get('input')}' is not semantic (MAJOR.MINOR.PATCH)"
        return f"'{err.get('input')}' is not a valid {loc[-1]} name (letters, digits, '_', '.', '-')"
    got = err.get("input")
    if kind in _LIMITS:
        key, words = _LIMITS[kind]
        return f"{_subject(loc)} must be {words} {err.get('ctx', {}).get(key)}, not {got!r}"
    if kind in ("dict_type", "model_type") and len(loc) == 2 and loc[0] == "checks":
        return _NOT_A_CHECK  # the same words as _validate_check, so the two reports merge into one
    if kind in _SHAPES:
        return f"{_subject(loc)} must be {_SHAPES[kind]}, not {got!r}"
    if kind == "union_tag_invalid":
        shapes = {"'<scalar>'": "true or false", "'<mapping>'": "a mapping", "'<list>'": "a list"}
        expected = [shapes.get(t.strip(), t) for t in str(err.get("ctx", {}).get("expected_tags", "")).split(",")]
        return f"{_subject(loc)} must be {' or '.join(expected)}, not {got!r}"
    if kind in ("too_short", "too_long"):
        ctx = err.get("ctx", {})
        if loc and loc[-1] == "between":
            return f"'between' takes exactly 2 values [min, max], not {ctx.get('actual_length')}"
        bound = f"at least {ctx.get('min_length')}" if kind == "too_short" else f"at most {ctx.get('max_length')}"
        return f"{_subject(loc)} needs {bound} item(s), not {ctx.get('actual_length')}"
    if kind == "value_error":
        return f"{_subject(loc)}: {err['msg'].removeprefix('Value error, ')}"
    field = loc[-1] if loc else "value"
    return f"{field}: {err['msg'][0].lower()}{err['msg'][1:]}"


def _cross_checks(model: m.ContractModel, checks: list[tuple[str, Any]], problems: _Problems) -> dict[Path, Fragment]:
    columns = model.schema_.columns
    declared = {name: name for name in columns}  # names match exactly, case included
    refs = tuple(model.references)
    fragments: dict[Path, Fragment] = {}
    if model.source and _url_password(model.source):
        problems.add(("source",), "the URL carries a password; a contract is shared and versioned: "
                     "give credentials through the environment (PGPASSWORD), ~/.pgpass or a service file (PGSERVICE)")

    def sql(path: Path, text: str | None, *, aggregate: bool) -> None:
        if text is None:
            return
        kept = sql_cache.vetted(text, columns=declared, references=refs, aggregate=aggregate) if isinstance(text, str) else None
        if kept is not None:  # seen before, by any process: no sqlglot
            fragments[path] = kept
            return
        from dqgate.contract.sql import SqlProblem, vet  # sqlglot: only for SQL not seen before

        try:
            fragments[path] = vet(text, columns=declared, references=refs, aggregate=aggregate)
        except SqlProblem as exc:
            problems.add(path, f"{path[-1]} {_quoted(text)}: {exc}")
        else:
            sql_cache.keep_vetted(text, columns=declared, references=refs, aggregate=aggregate, fragment=fragments[path])

    def column_rules(path: Path, name: str, spec: m.RuleFields, ctype: str | None, *, declaration: bool) -> None:
        _check_rules(path, name, spec, ctype, refs, problems, declaration=declaration)
        sql((*path, "where"), getattr(spec, "where", None), aggregate=False)

    for name, spec in columns.items():
        path: Path = ("schema", "columns", name)
        column_rules(path, name, spec, spec.type, declaration=True)
    names: dict[str, Path] = {}
    for i, entry in enumerate(model.schema_.unique):
        path = ("schema", "unique", i)
        if not isinstance(entry, list):  # a UniqueKey mapping; a plain list of columns otherwise
            for j, col in enumerate(entry.columns):
                _known_column((*path, "columns", j), col, declared, problems)
            sql((*path, "where"), entry.where, aggregate=False)
            _unique_name(entry.name, (*path, "name"), names, problems)
        else:
            for j, col in enumerate(entry):
                _known_column((*path, j), col, declared, problems)
    for i, fk in enumerate(model.schema_.foreign_keys):
        path = ("schema", "foreign_keys", i)
        for j, col in enumerate(fk.columns):
            _known_column((*path, "columns", j), col, declared, problems)
        if fk.references not in refs:
            hint = did_you_mean(fk.references, refs)
            problems.add((*path, "references"), f"unknown reference dataset '{fk.references}' (declare it under 'references:').{hint}".rstrip("."))
        if fk.to is not None and len(fk.to) != len(fk.columns):
            problems.add((*path, "to"), f"'to' names {len(fk.to)} column(s) for {len(fk.columns)} in 'columns'; give one per column")
        sql((*path, "where"), fk.where, aggregate=False)
        _unique_name(fk.name, (*path, "name"), names, problems)
    for j, col in enumerate(model.schema_.key or []):
        _known_column(("schema", "key", j), col, declared, problems)
    for i, (kind, check) in enumerate(checks):
        path = ("checks", i)
        if check is None:
            continue
        if check.name:
            if check.name in names:
                problems.add((*path, "name"), f"duplicate check name '{check.name}'")
            names[check.name] = path
        if kind == "column":
            col = _known_column((*path, "column"), check.column, declared, problems)
            if col is not None:
                column_rules(path, col, check, columns[col].type, declaration=False)
                if not any(_rule_set(check)):
                    problems.add(path, f"check on column '{col}' names no rule ({', '.join(COLUMN_RULES)})")
        elif kind == "expect":
            sql((*path, "expect"), check.expect, aggregate=False)
            sql((*path, "where"), check.where, aggregate=False)
        elif kind == "metric":
            _check_metric(path, check, declared, problems, sql, columns)
    if model.drift:
        from dqgate.contract import ml_check

        for col in model.drift.columns:
            _known_column(("drift", "columns", col), col, declared, problems)
        ml_check.drift(model.drift, declared, columns, problems.add)
        for col, index, spec in model.drift.methods():
            at: Path = ("drift", "columns", col) if index is None else ("drift", "columns", col, index)
            sql((*at, "where"), spec.where, aggregate=False)
    return fragments


def _url_password(url: str) -> bool:
    """Whether a database URL (``postgresql://user:secret@host/db``) carries a password."""
    import urllib.parse

    if "://" not in url:
        return False
    parts = urllib.parse.urlsplit(url)
    try:
        inline = parts.password is not None
    except ValueError:
        inline = False
    return inline or any(k.lower() == "password" for k, _ in urllib.parse.parse_qsl(parts.query))


def _unique_name(name: str | None, path: Path, names: dict[str, Path], problems: _Problems) -> None:
    """A rule name is a result id: two rules may not share one."""
    if name is None:
        return
    if name in names:
        problems.add(path, f"duplicate check name '{name}'")
    names[name] = path


def _quoted(text: str, limit: int = 60) -> str:
    """User SQL for a message: one line, shortened, in double quotes (SQL itself uses single ones)."""
    flat = " ".join(str(text).split())
    return '"' + (flat if len(flat) <= limit else flat[: limit - 3] + "...") + '"'


def _rule_set(spec: m.RuleFields) -> list[bool]:
    # "is set", not truthiness: `pattern: ''` is a rule (only empty strings match)
    return [getattr(spec, "in_" if r == "in" else r) not in (None, False) for r in COLUMN_RULES]


def _known_column(path: Path, col: str, declared: dict[str, str], problems: _Problems) -> str | None:
    found = declared.get(str(col))
    if found is None:
        hint = did_you_mean(str(col), declared.values())
        problems.add(path, f"unknown column '{col}' (not declared under schema.columns).{hint}".rstrip("."))
    return found


def _check_rules(path: Path, name: str, spec: m.RuleFields, ctype: str | None, refs: tuple[str, ...], problems: _Problems, *, declaration: bool) -> None:
    """The rules of a column, as declared under ``schema.columns`` (``declaration``) or
    written as a ``column:`` check."""
    rng = spec.range
    if rng is not None and _range_bounds(path, name, rng, ctype, problems):
        if rng.min is not None and rng.max is not None:
            try:
                empty = rng.min > rng.max or ((rng.open_min or rng.open_max) and rng.min >= rng.max)
            except TypeError:
                shown = [str(b) if isinstance(b, (dt.date, int, float)) else repr(b) for b in (rng.min, rng.max)]
                problems.add((*path, "range"), f"range bounds {shown[0]} and {shown[1]} are not comparable (use one kind of value for both)")
            else:
                if empty:
                    op = ">=" if rng.min <= rng.max else ">"
                    flag = "exclusive: true excludes both bounds" if rng.exclusive else "an exclusive bound excludes its value"
                    why = f" ({flag})" if op == ">=" else ""
                    problems.add((*path, "range"), f"impossible range on '{name}': min {rng.min!r} {op} max {rng.max!r}{why}")
    if spec.length is not None:
        if spec.length.min is None and spec.length.max is None:
            problems.add((*path, "length"), f"length on '{name}' needs min or max")
        elif spec.length.min is not None and spec.length.max is not None and spec.length.min > spec.length.max:
            problems.add((*path, "length"), f"impossible length on '{name}': min {spec.length.min} > max {spec.length.max}")
    for rule in ("pattern", "length", "format"):
        if getattr(spec, rule) is not None and ctype is not None and ctype not in _STRING_TYPES:
            problems.add((*path, rule), f"'{rule}' applies to string columns, but '{name}' is {ctype}")
    if spec.freshness is not None and ctype is not None and ctype not in ("timestamp", "date"):
        problems.add((*path, "freshness"), f"'freshness' applies to timestamp or date columns, but '{name}' is {ctype}")
    if spec.pattern is not None:
        problem = regex_problem(spec.pattern)
        if problem:
            problems.add((*path, "pattern"), f"bad regex {spec.pattern!r} for column '{name}': {problem}")
    if spec.in_ is not None and ctype in _NUMERIC_TYPES:
        bad = [v for v in spec.in_ if isinstance(v, bool) or not isinstance(v, (int, float))]
        if bad:
            problems.add((*path, "in"), f"'in' value {bad[0]!r} is not a number, but '{name}' is {ctype}")
    if spec.references is not None:
        ref, _, col = spec.references.partition(".")
        if not col:
            problems.add((*path, "references"), f"write references as DATASET.COLUMN, not '{spec.references}'")
        elif ref not in refs:
            hint = did_you_mean(ref, refs)
            problems.add((*path, "references"), f"unknown reference dataset '{ref}' (declare it under 'references:').{hint}".rstrip("."))
    mostly = getattr(spec, "mostly", None)
    if mostly is not None and not any(_rule_set(spec)) and declaration:
        problems.add((*path, "mostly"), f"'mostly' on '{name}' has no rule to apply to")


def _range_bounds(path: Path, name: str, rng: m.RangeSpec, ctype: str | None, problems: _Problems) -> bool:
    """Each bound fits the column (numbers, ISO instants, ``now-1d``) and each flag has its bound.

    Returns whether the bounds are plain values that can be compared with each other
    (relative instants are compared only when the check runs).
    """
    if rng.min is None and rng.max is None:
        problems.add((*path, "range"), f"range on '{name}' needs min or max")
    for flag, bound in (("exclusive_min", "min"), ("exclusive_max", "max")):
        if getattr(rng, flag) and getattr(rng, bound) is None:
            problems.add((*path, "range", flag), f"'{flag}' on '{name}' has no '{bound}' to exclude")
    plain = True
    low, high = (bounds.relative_or_none(rng.min), bounds.relative_or_none(rng.max))
    if low is not None and high is not None and (low.offset_s > high.offset_s or (rng.open_min or rng.open_max) and low.offset_s >= high.offset_s):
        problems.add((*path, "range"), f"impossible range on '{name}': min {low} is not before max {high}")
    for bound in ("min", "max"):
        value = getattr(rng, bound)
        if value is None:
            continue
        where = (*path, "range", bound)
        sort = bounds.kind(value)
        if ctype in _NUMERIC_TYPES and sort != "number":
            why = " (relative bounds apply to date and timestamp columns)" if sort == "relative" else ""
            problems.add(where, f"range {bound} {value!r} is not a number, but '{name}' is {ctype}{why}")
        elif sort == "relative":
            plain = False
            problem = _relative_problem(value, ctype, name)
            if problem:
                problems.add(where, f"range {bound} {problem}")
        elif ctype in ("date", "timestamp") and sort == "text":
            problems.add(where, f"range {bound} {value!r} is not an ISO date or timestamp, nor now-<duration> (as in now-52w), but '{name}' is {ctype}")
            plain = False
    return plain


def _relative_problem(value: Any, ctype: str | None, name: str) -> str | None:
    """Why ``value`` (which starts with ``now``) cannot bound column ``name`` of type ``ctype``."""
    try:
        bounds.relative(value)
    except ValueError as exc:
        return f"{value!r}: {exc}"
    if ctype not in ("date", "timestamp"):
        return f"{value!r} is relative to the check time, which applies to date and timestamp columns, but '{name}' is {ctype or 'untyped'}"
    return None


def regex_problem(pattern: str) -> str | None:
    """Why RE2 (DuckDB's regex engine) rejects ``pattern``, or None if it compiles."""
    try:
        import re2  # google-re2: the same engine DuckDB uses

        options = re2.Options()
        options.log_errors = False  # the message is ours to print, once
        re2.compile(pattern, options)
    except ImportError:  # pragma: no cover - re2 is a dependency; fall back to a rough screen
        if re.search(r"\(\?<?[=!]|\\[1-9]|\(\?>", pattern):
            return "lookarounds, backreferences and atomic groups are not supported by RE2"
        try:
            re.compile(pattern)
        except re.error as exc:
            return str(exc)
    except Exception as exc:  # re2.error, whose argument is bytes
        arg = exc.args[0] if exc.args else ""
        text = (arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)).strip()
        if re.search(r"\(\?<?[=!]|\\[1-9]", pattern):
            text += " (RE2, DuckDB's regex engine, has no lookarounds or backreferences)"
        return text or "invalid regular expression"
    return None


def metric_bounds(check: m.MetricCheck) -> tuple[Any, Any]:
    """The (lower, upper) bound of a metric check, whichever way it was written."""
    if check.between:
        return check.between[0], check.between[1]
    lo = check.min if check.min is not None else check.greater_than
    hi = check.max if check.max is not None else check.less_than
    return lo, hi


def _instants(lo: Any, hi: Any) -> tuple[Any, Any]:
    return bounds.instant(lo), bounds.instant(hi)


def _metric_bound_kinds(path: Path, check: m.MetricCheck, parsed: Any, columns: dict[str, Any], problems: _Problems) -> None:
    """Numbers bound numeric metrics; ISO instants and ``now-1d`` bound metrics of dates and timestamps."""
    ctype = columns[parsed.column].type if parsed.column else None
    temporal = parsed.func in ("min", "max") and ctype in ("date", "timestamp")
    numeric = parsed.func not in ("min", "max", "sql") or ctype in _NUMERIC_TYPES
    fields = ("min", "max", "greater_than", "less_than", "between")
    for key in fields:
        values = getattr(check, key)
        for j, value in enumerate(values if key == "between" and values else [values]):
            if value is None:
                continue
            at = (*path, key, j) if key == "between" else (*path, key)
            sort = bounds.kind(value)
            if sort == "relative":
                try:
                    bounds.relative(value)
                except ValueError as exc:
                    problems.add(at, f"{key} {value!r}: {exc}")
                    continue
                if not temporal and parsed.func != "sql":
                    problems.add(at, f"{key} {value!r} is relative to the check time, which applies to metrics of date and timestamp columns, not to '{check.metric}'")
            elif sort == "text":
                problems.add(at, f"{key} {value!r} is not a number, an ISO date or timestamp, nor now-<duration> (as in now-1d)")
            elif numeric and sort != "number":
                problems.add(at, f"{key} {value!r} is not a number, but metric '{check.metric}' is one")
            elif temporal and sort == "number":
                problems.add(at, f"{key} {value!r} is a number, but metric '{check.metric}' is a {ctype}: write an ISO instant or now-<duration>")


def _check_metric(path: Path, check: m.MetricCheck, declared: dict[str, str], problems: _Problems, sql: Any, columns: dict[str, Any]) -> None:
    given = [check.min is not None or check.max is not None, check.between is not None]
    if all(given):
        problems.add(path, "give either min/max or between, not both")
    for strict, inclusive in (("greater_than", "min"), ("less_than", "max")):
        if getattr(check, strict) is not None and (getattr(check, inclusive) is not None or check.between is not None):
            problems.add((*path, strict), f"give either {inclusive} or {strict} (or between), not both")
    lo, hi = metric_bounds(check)
    kinds = {bounds.kind(b) for b in (lo, hi) if b is not None}
    try:
        strict_either = check.greater_than is not None or check.less_than is not None
        if kinds <= {"number"} or kinds == {"instant"}:
            a, b = bounds.comparable(*_instants(lo, hi)) if kinds == {"instant"} else (lo, hi)
            if a is not None and b is not None and (a > b or (strict_either and a >= b)):
                where = (*path, "between") if check.between else (*path, "min" if check.min is not None else "greater_than")
                op = ">" if a > b else ">="
                problems.add(where, f"impossible bounds for metric '{check.metric}': min {bounds.show(lo)} {op} max {bounds.show(hi)}")
    except TypeError:
        problems.add(path, f"bounds of metric '{check.metric}' are not comparable (use one kind of value for both)")
    from dqgate.contract import ml_check

    if ml_check.metric_check(path, check, declared, columns, problems.add):
        if check.where is not None:
            sql((*path, "where"), check.where, aggregate=False)
        return  # an evaluation metric: no SQL to vet
    parsed = sql_cache.metric(check.metric, declared)
    if parsed is None:  # not read before: sqlglot
        from dqgate.contract.metric import MetricProblem, parse_metric

        try:
            parsed = parse_metric(check.metric, declared)
        except MetricProblem as exc:
            problems.add((*path, "metric"), str(exc))
            return
        sql_cache.keep_metric(check.metric, declared, parsed)
    if parsed.func == "sql":
        sql((*path, "metric"), check.metric, aggregate=True)
    _metric_bound_kinds(path, check, parsed, columns, problems)
    if parsed.func in ("null_fraction",) and ((lo is not None and lo < 0) or (hi is not None and hi > 1)):
        if hi is not None and hi > 1:
            problems.add(path, f"null_fraction is between 0 and 1; max {hi} can never fail")
    if check.where is not None:
        sql((*path, "where"), check.where, aggregate=False)


__all__ = ["build_contract", "proven_contract", "regex_problem"]
