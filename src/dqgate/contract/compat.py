"""Breaking-change diff between two revisions of a contract (``dq lint --against REV``).

A change is *breaking* when a batch that met the old contract could fail the new
one (a new error-severity rule, a rule tightened, a warning made an error) or when
a consumer loses something it relied on (a column removed, the dataset renamed, a
type narrowed or changed to another family). Removing or loosening rules, adding
optional columns and widening types are reported but not breaking. As in semver, a
breaking change is allowed when the new contract raises the major version.

Rules are matched across revisions by their stable id (``column.rule``, the check's
name, the metric as written), unnamed ``expect`` checks by their canonical SQL, so
reordering checks or reformatting SQL is not a change. A rule that only warns
cannot fail the gate, so tightening it is never breaking. Descriptions, owners,
sources, gate settings and reference paths are not compared: they do not change
which data passes.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dqgate.contract.names import COLUMN_RULES, parse_duration
from dqgate.errors import ContractError, UsageError
from dqgate.span import Span

if TYPE_CHECKING:
    from dqgate.contract.contract import Contract
    from dqgate.contract.load import Path

_INTS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64, "integer": 64}
_UINTS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
_FLOATS = {"float32": 32, "float64": 64}


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


@dataclass(frozen=True)
class Change:
    """One difference between two revisions of a contract.

    ``span`` points into the new file (at the nearest surviving parent for a removal);
    ``subject`` is the column name or the rule id.
    """

    kind: str
    subject: str
    before: Any
    after: Any
    breaking: bool
    span: Span
    detail: str
    old_version: str = "0.0.0"
    new_version: str = "0.0.0"

    @property
    def major_raised(self) -> bool:
        return _major(self.new_version) > _major(self.old_version)

    @property
    def fails(self) -> int:
        """1 when this change should fail `dq lint`: breaking, and not covered by a major version bump."""
        return int(self.breaking and not self.major_raised)

    def describe(self) -> str:
        """``file:line:col: BREAKING: column 'x' removed``, one line for the terminal and pre-commit."""
        if not self.breaking:
            return f"{self.span}: change: {self.detail}"
        if self.major_raised:
            old, new = _major(self.old_version), _major(self.new_version)
            return f"{self.span}: BREAKING: {self.detail} (allowed: major version raised {old} -> {new})"
        return f"{self.span}: BREAKING: {self.detail}"


@dataclass(frozen=True)
class _Rule:
    key: str  # matches the same rule across revisions
    subject: str
    kind: str
    path: Path
    value: Any
    severity: str = "error"
    mostly: float | None = None
    where: str | None = None
    column: str | None = None


def compare(old: Contract, new: Contract) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking or not, in the order of the new file."""
    changes: list[Change] = []

    def emit(kind: str, subject: str, before: Any, after: Any, breaking: bool, path: Path, detail: str) -> None:
        span = new.doc.span(path)
        changes.append(Change(kind, subject, before, after, breaking, span, detail, old.version, new.version))

    if old.dataset != new.dataset:
        emit("dataset_renamed", new.dataset, old.dataset, new.dataset, True, ("dataset",), f"dataset renamed '{old.dataset}' -> '{new.dataset}'")
    old_cols, new_cols = old.columns, new.columns
    for col, spec in old_cols.items():
        if col not in new_cols:
            emit("column_removed", col, spec.type, None, True, ("schema", "columns", col), f"column '{col}' removed")
    for col, spec in new_cols.items():
        path: Path = ("schema", "columns", col)
        if col not in old_cols:
            required = spec.required and spec.severity == "error"
            how = "required" if spec.required else "optional"
            emit("column_added", col, None, spec.type, required, path, f"column '{col}' added ({how})")
        elif old_cols[col].type != spec.type:
            before, after = old_cols[col].type, spec.type
            verdict = _type_verdict(before, after)
            detail = f"column '{col}' type {before or 'any'} -> {after or 'any'} ({verdict})"
            emit("type_changed", col, before, after, verdict != "widened", (*path, "type"), detail)

    old_rules, new_rules = _rules(old), _rules(new)
    for key, rule in old_rules.items():
        if key not in new_rules and (rule.column is None or rule.column in new_cols):
            emit("rule_removed", rule.subject, rule.value, None, False, rule.path, f"rule '{rule.subject}' removed")
    for key, rule in new_rules.items():
        prior = old_rules.get(key)
        if prior is None:
            if rule.kind == "required" and rule.column not in old_cols and rule.path[0] == "schema":
                continue  # said by "column 'x' added (required)"
            breaking = rule.severity == "error"
            emit("rule_added", rule.subject, None, rule.value, breaking, rule.path, f"{rule.severity} rule '{rule.subject}' added")
            continue
        for kind, breaking, detail in _rule_changes(prior, rule):
            emit(kind, rule.subject, prior.value, rule.value, breaking, rule.path, detail)
    return sorted(changes, key=lambda c: (c.span.line, c.span.col))


def _type_verdict(old: str | None, new: str | None) -> str:
    """``widened`` (every old value fits the new type), ``narrowed``, or ``changed`` (another family)."""
    if new is None:
        return "widened"  # no type constraint any more
    if old is None:
        return "changed"
    bits = {**_INTS, **_UINTS, **_FLOATS}
    for family in (_INTS, _UINTS, _FLOATS):
        if old in family and new in family:
            return "widened" if family[new] >= family[old] else "narrowed"
    if old in _UINTS and new in _INTS:
        return "widened" if _INTS[new] > _UINTS[old] else "narrowed"
    if old in {**_INTS, **_UINTS}:
        if new == "float64" or (new == "float32" and bits[old] <= 16) or new in ("number", "decimal"):
            return "widened"
        if new in _FLOATS:
            return "narrowed"
    if old in _FLOATS and new == "number":
        return "widened"
    if old in ("number", "decimal") and new in bits:
        return "narrowed"
    return "changed"


def _rules(c: Contract) -> dict[str, _Rule]:
    """The contract's rules keyed for matching, with their YAML paths (ids follow ``ir/plan.py``)."""
    out: dict[str, _Rule] = {}
    declared = {name.lower(): name for name in c.columns}

    def where(path: Path) -> str | None:
        fragment = c.fragments.get((*path, "where"))
        return fragment.sql if fragment is not None else None

    def add(rule: _Rule) -> None:
        key, n = rule.key, 2
        while key in out:
            key, n = f"{rule.key}#{n}", n + 1
        out[key] = replace(rule, key=key)

    def column_rules(col: str, spec: Any, path: Path, name: str | None) -> None:
        kinds = [r for r in COLUMN_RULES if getattr(spec, "in_" if r == "in" else r) not in (None, False)]
        for r in kinds:
            subject = (name if len(kinds) == 1 else f"{name}.{r}") if name else f"{col}.{r}"
            value = _plain(getattr(spec, "in_" if r == "in" else r))
            if r == "unique":
                value = {"nulls": "equal" if not isinstance(spec.unique, bool) and spec.unique.nulls == "equal" else "distinct"}
            add(_Rule(subject, subject, r, (*path, r), value, spec.severity, spec.mostly, where(path), col))

    for col, spec in c.columns.items():
        column_rules(col, spec, ("schema", "columns", col), None)
    for i, entry in enumerate(c.model.schema_.unique):
        path = ("schema", "unique", i)
        if not isinstance(entry, list):  # a UniqueKey mapping; a plain list of columns otherwise
            names = tuple(declared.get(x.lower(), x) for x in entry.columns)
            rid = entry.name or "+".join(names) + ".unique"
            add(_Rule(rid, rid, "unique", path, {"nulls": entry.nulls}, entry.severity, entry.mostly, where(path)))
        else:
            names = tuple(declared.get(x.lower(), x) for x in entry)
            rid = "+".join(names) + ".unique"
            add(_Rule(rid, rid, "unique", path, {"nulls": "distinct"}))
    for i, fk in enumerate(c.model.schema_.foreign_keys):
        path = ("schema", "foreign_keys", i)
        names = tuple(declared.get(x.lower(), x) for x in fk.columns)
        rid = fk.name or "+".join(names) + ".references"
        value = {"references": fk.references, "to": list(fk.to or fk.columns)}
        add(_Rule(rid, rid, "foreign_key", path, value, fk.severity, fk.mostly, where(path)))
    if c.model.schema_.strict:
        add(_Rule("schema.strict", "schema.strict", "strict", ("schema", "strict"), True))
    for i, check in enumerate(c.checks):
        path: Path = ("checks", i)
        if hasattr(check, "column"):  # ColumnCheck (pydantic's, or shape.py's record of one)
            column_rules(declared.get(check.column.lower(), check.column), check, path, check.name)
        elif hasattr(check, "expect"):
            sql = c.fragments[(*path, "expect")].sql
            key = check.name or f"expect {sql}"
            add(_Rule(key, check.name or f"checks[{i}].expect", "expect", (*path, "expect"), sql, check.severity, check.mostly, where(path)))
        else:
            fragment = c.fragments.get((*path, "metric"))
            expr = fragment.sql if fragment is not None else " ".join(check.metric.split())
            lo, hi = (check.between[0], check.between[1]) if check.between else (check.min, check.max)
            value = {"metric": expr, "min": lo, "max": hi}
            if lo is None and check.greater_than is not None:
                value.update(min=check.greater_than, exclusive_min=True)
            if hi is None and check.less_than is not None:
                value.update(max=check.less_than, exclusive_max=True)
            key = check.name or expr
            add(_Rule(key, key, "metric", path, value, check.severity, None, where(path)))
    if c.model.drift is not None:
        for col, index, spec in c.model.drift.methods():
            value = _plain(spec)
            value.pop("severity", None)
            key = f"drift.{col}" if index is None else f"drift.{col}.{spec.method}"
            at: Path = ("drift", "columns", col) if index is None else ("drift", "columns", col, index)
            add(_Rule(key, key, "drift", at, value, spec.severity, None, spec.where))
    return out


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_defaults=True)
    return list(value) if isinstance(value, (list, tuple)) else value


def _rule_changes(old: _Rule, new: _Rule) -> list[tuple[str, bool, str]]:
    """(kind, breaking, detail) for each way ``new`` differs from ``old``; a warn-only rule never breaks."""
    out: list[tuple[str, bool, str]] = []
    error = new.severity == "error"
    subject = f"rule '{new.subject}'"
    verdict = _value_verdict(old, new)
    if verdict == "shrunk" or verdict == "grown":
        gone = [v for v in old.value if v not in new.value]
        came = [v for v in new.value if v not in old.value]
        added = f"added {_show(came)}" if came else ""
        detail = f"{subject} set shrunk: removed {_show(gone)}{', ' + added if added else ''}" if gone else f"{subject} set grown: {added}"
        out.append((f"rule_{'tightened' if gone else 'loosened'}", bool(gone) and error, detail))
    elif verdict is not None:
        a, b = old.value, new.value
        if new.kind == "metric" and old.kind == "metric" and a["metric"] == b["metric"]:
            a, b = ({k: v for k, v in x.items() if k != "metric"} for x in (a, b))
        detail = f"{subject} {verdict}: {_show(a)} -> {_show(b)}"
        out.append((f"rule_{verdict}", verdict in ("tightened", "changed") and error, detail))
    if old.severity != new.severity:
        out.append((f"severity_{'raised' if error else 'lowered'}", error, f"{subject} severity {old.severity} -> {new.severity}"))
    before, after = old.mostly or 1.0, new.mostly or 1.0
    if before != after:
        raised = after > before
        out.append((f"mostly_{'raised' if raised else 'lowered'}", raised and error, f"{subject} mostly {before:g} -> {after:g}"))
    if old.where != new.where:
        if new.where is None:
            out.append(("where_removed", error, f"{subject} where {_show(old.where)} removed (now applies to every row)"))
        elif old.where is None:
            out.append(("where_added", False, f"{subject} now applies only where {_show(new.where)}"))
        else:
            out.append(("where_changed", error, f"{subject} where {_show(old.where)} -> {_show(new.where)}"))
    return out


def _value_verdict(old: _Rule, new: _Rule) -> str | None:
    """None (same), ``tightened``, ``loosened``, ``changed`` (cannot tell: treated as breaking), or for ``in`` sets ``shrunk``/``grown``."""
    a, b = old.value, new.value
    if old.kind != new.kind:
        return "changed"
    if a == b:
        return None
    try:
        if new.kind == "in":
            return "shrunk" if any(v not in b for v in a) else ("grown" if any(v not in a for v in b) else None)
        if new.kind == "unique":
            # nulls: equal judges the rows with NULL keys too: more rows can fail
            return "tightened" if b.get("nulls") == "equal" else "loosened"
        if new.kind in ("range", "length"):
            lo_excl = (bool(a.get("exclusive") or a.get("exclusive_min")), bool(b.get("exclusive") or b.get("exclusive_min")))
            hi_excl = (bool(a.get("exclusive") or a.get("exclusive_max")), bool(b.get("exclusive") or b.get("exclusive_max")))
            return _bounds(a.get("min"), b.get("min"), a.get("max"), b.get("max"), lo_excl, hi_excl)
        if new.kind == "freshness":
            before, after = parse_duration(a["max_age"]), parse_duration(b["max_age"])
            return None if before == after else ("tightened" if after < before else "loosened")
        if new.kind == "metric" and a["metric"] == b["metric"]:
            lo_excl = (bool(a.get("exclusive_min")), bool(b.get("exclusive_min")))
            hi_excl = (bool(a.get("exclusive_max")), bool(b.get("exclusive_max")))
            return _bounds(a["min"], b["min"], a["max"], b["max"], lo_excl, hi_excl)
        if new.kind == "drift" and (a["method"], a.get("bins")) == (b["method"], b.get("bins")):
            return _bounds(a.get("min"), b.get("min"), a.get("max"), b.get("max"), (False, False))
    except TypeError:  # bounds of different types (a date against a number)
        return "changed"
    return "changed"


def _bounds(old_lo: Any, new_lo: Any, old_hi: Any, new_hi: Any, exclusive: tuple[bool, bool], hi_exclusive: tuple[bool, bool] | None = None) -> str | None:
    """Compare two intervals: tightened if any side now excludes values it allowed before.

    ``exclusive`` is (old, new) for the lower side, ``hi_exclusive`` for the upper one
    (default: the same). Relative bounds (``now-52w``) compare by their offset; one
    against an absolute bound cannot be compared (``changed``, as breaking).
    """
    old_lo, new_lo, old_hi, new_hi = (_offset_or_value(v) for v in (old_lo, new_lo, old_hi, new_hi))
    sides = (_side(old_lo, new_lo, exclusive, 1), _side(old_hi, new_hi, hi_exclusive or exclusive, -1))
    if 1 in sides:
        return "tightened"
    return "loosened" if -1 in sides else None


class _Offset(float):
    """A relative bound's offset in seconds: comparable only with another offset."""

    def _check(self, other: Any) -> None:
        if other is not None and not isinstance(other, _Offset):
            raise TypeError("a relative bound against an absolute one")

    def __lt__(self, other: Any) -> bool:
        self._check(other)
        return float(self) < float(other)

    def __gt__(self, other: Any) -> bool:
        self._check(other)
        return float(self) > float(other)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _Offset) and float(self) == float(other)

    __hash__ = float.__hash__


def _offset_or_value(value: Any) -> Any:
    from dqgate.contract.bounds import relative_or_none

    rel = relative_or_none(value)
    return value if rel is None else _Offset(rel.offset_s)


def _side(old: Any, new: Any, exclusive: tuple[bool, bool], sign: int) -> int:
    """+1 when the bound got tighter, -1 looser, 0 the same; ``sign`` is +1 for a lower bound."""
    if old is None or new is None:
        return 0 if old is new else (1 if old is None else -1)
    if new == old:
        return int(exclusive[1]) - int(exclusive[0])
    return sign if new > old else -sign


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items() if v is not None) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def compare_with_revision(contract: Contract, rev: str) -> list[Change]:
    """Compare ``contract`` with the same file at git revision ``rev`` of its repository.

    A file that did not exist at ``rev`` has no changes; so has any file when ``rev`` is
    ``HEAD`` of a repository without commits yet (its first commit).

    Raises:
        UsageError: the file is not in a git repository, or ``rev`` names no commit.
    """
    if not os.path.isfile(contract.path):
        raise UsageError(f"{contract.path}: --against needs a contract file inside a git repository")
    folder, name = os.path.split(os.path.realpath(contract.path))
    shown = _git(folder, "cat-file", "blob", f"{rev}:./{name}")  # one process per file when all is well
    if shown.returncode != 0:
        _explain_missing(folder, rev, contract.path)
        return []  # the file is new since rev
    from dqgate.contract import lint_text

    try:
        old = lint_text(shown.stdout.decode("utf-8", "replace"), f"{rev}:{name}")
    except ContractError as exc:
        detail = f"cannot compare with {rev}: the contract there is invalid ({exc.problems[0]})"
        return [Change("old_invalid", name, None, None, False, Span(contract.path, 1, 1), detail)]
    return compare(old, contract)


def _explain_missing(folder: str, rev: str, shown_path: str) -> None:
    """Return when the file merely did not exist at ``rev`` (or ``HEAD`` has no commit yet); else raise."""
    found = _git(folder, "rev-parse", "--show-toplevel", "--verify", "--quiet", f"{rev}^{{commit}}")
    lines = found.stdout.decode("utf-8", "replace").splitlines()
    if not lines:
        raise UsageError(f"{shown_path}: not in a git repository, so there is no revision '{rev}' to compare with")
    if found.returncode == 0 and len(lines) == 2:
        return
    if rev == "HEAD" and _git(lines[0], "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        return  # the first commit: nothing to compare with
    raise UsageError(f"unknown git revision '{rev}' in {lines[0]}")


def _git(cwd: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", cwd, *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("--against needs git, but 'git' is not on PATH") from None


__all__ = ["Change", "compare", "compare_with_revision"]
