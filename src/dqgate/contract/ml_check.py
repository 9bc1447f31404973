"""Cross-field checks of the ML parts of a contract: evaluation metrics, slices, history, drift.

Called from ``contract/check.py``; each function reports problems through ``add(path,
message)`` so that every problem of a file is collected, as for the other rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from dqgate.contract.names import TYPE_NAMES
from dqgate.span import did_you_mean

if TYPE_CHECKING:
    from dqgate.contract import model as m

# The evaluation metrics of ``metric: accuracy(label, prediction)``-style checks.
EVAL_METRICS = (
    "accuracy", "precision", "recall", "f1", "false_negative_rate", "false_positive_rate",
    "roc_auc", "mae", "rmse",
)  # fmt: skip

Add = Callable[[tuple[Any, ...], str], None]
CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "false_negative_rate", "false_positive_rate")
_NUMERIC = {t for t in TYPE_NAMES if t.startswith(("int", "uint", "float")) or t in ("number", "decimal", "integer")}
_EVAL_KEYS = ("label", "prediction", "score", "positive", "average")


def eval_name(metric: str) -> str | None:
    """The evaluation metric ``metric`` names (``recall``, ``roc_auc``, ...), or None."""
    name = metric.strip().lower()
    return name if name in EVAL_METRICS else None


def _column(path: tuple[Any, ...], col: str, declared: dict[str, str], add: Add) -> str | None:
    found = declared.get(str(col))
    if found is None:
        hint = did_you_mean(str(col), declared.values())
        add(path, f"unknown column '{col}' (not declared under schema.columns).{hint}".rstrip("."))
    return found


def metric_check(path: tuple[Any, ...], check: m.MetricCheck, declared: dict[str, str], columns: dict[str, Any], add: Add) -> bool:
    """Check ``by``, history and evaluation fields; True when the metric is an evaluation metric."""
    for j, col in enumerate(check.by or []):
        _column((*path, "by", j), col, declared, add)
    name = eval_name(check.metric)
    if name is None:
        given = [k for k in _EVAL_KEYS if getattr(check, k) is not None]
        if given:
            add((*path, given[0]), f"'{given[0]}' applies to evaluation metrics ({', '.join(EVAL_METRICS)}), not to '{check.metric}'")
        return False
    needs = {"roc_auc": ("label", "score"), "mae": ("label", "prediction"), "rmse": ("label", "prediction")}.get(name, ("label", "prediction"))
    for key in needs:
        value = getattr(check, key)
        if value is None:
            add(path, f"metric '{name}' needs '{key}:' (the {_ROLE[key]} column)")
        else:
            col = _column((*path, key), value, declared, add)
            ctype = columns[col].type if col else None
            numeric = name in ("mae", "rmse") or key == "score"
            if numeric and ctype is not None and ctype not in _NUMERIC:
                add((*path, key), f"'{key}' of metric '{name}' must be a numeric column, but '{col}' is {ctype}")
    if name == "roc_auc" and check.positive is None:
        add(path, "metric 'roc_auc' needs 'positive:' (the label value of the positive class)")
    if name in ("mae", "rmse"):
        for key in ("positive", "average", "score"):
            if getattr(check, key) is not None:
                add((*path, key), f"'{key}' does not apply to metric '{name}'")
    if name in CLASSIFICATION:
        average = check.average or ("binary" if check.positive is not None else "macro")
        if average == "binary" and check.positive is None and name != "accuracy":
            add(path, f"metric '{name}' with average 'binary' needs 'positive:' (the positive class)")
        if name == "accuracy" and check.average not in (None, "micro"):
            add((*path, "average"), "accuracy counts every row once; 'average' does not apply")
        if check.score is not None:
            add((*path, "score"), f"'score' applies to roc_auc, not to '{name}' (use 'prediction')")
    lo, hi = (check.between or [None, None]) if check.between else (
        check.min if check.min is not None else check.greater_than,
        check.max if check.max is not None else check.less_than,
    )
    for key in ("greater_than", "less_than"):
        if getattr(check, key) is not None:
            add((*path, key), f"'{key}' applies to dataset metrics; bound '{name}' with min/max")
            return True
    for key, value in (("min", lo), ("max", hi)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            add((*path, key), f"metric '{name}' is a number; bound {value!r} is not")
            return True
    if name not in ("mae", "rmse") and hi is not None and hi > 1 and (lo is None or lo <= 1):
        add(path, f"metric '{name}' is between 0 and 1; max {hi} can never fail")
    return True


_ROLE = {"label": "true label", "prediction": "predicted label or value", "score": "predicted score or probability"}


def drift(spec: m.DriftSpec, declared: dict[str, str], columns: dict[str, Any], add: Add) -> None:
    """Methods that fit the column types, and the bound each method needs."""
    ref = spec.reference
    if isinstance(ref, int) and (isinstance(ref, bool) or ref < 1):
        add(("drift", "reference"), f"reference version must be 1 or more, not {ref!r}")
    for name, index, col in spec.methods():
        path: tuple[Any, ...] = ("drift", "columns", name) if index is None else ("drift", "columns", name, index)
        found = declared.get(name)
        ctype = columns[found].type if found else None
        is_file = isinstance(ref, str) and ref != "latest" and not ref.strip().isdigit()
        if col.where is not None and not is_file:
            add((*path, "where"), "'where' on drift needs a file reference (reference: path/to/file.parquet): a snapshot's profile covers all of its rows")
        if col.method == "ks" and ctype is not None and ctype not in _NUMERIC:
            add((*path, "method"), f"'ks' compares numeric distributions, but '{name}' is {ctype}; use psi, js, linf or chi2")
        if col.method == "chi2":
            if col.max is not None:
                add((*path, "max"), "'chi2' reports a p-value, where small means drift: bound it with 'min' (e.g. min: 0.01)")
            elif col.min is not None and not 0 <= col.min <= 1:
                add((*path, "min"), f"a p-value is between 0 and 1, not {col.min}")
        elif col.max is not None and col.max < 0:
            add((*path, "max"), f"{col.method} is never negative; max {col.max} always fails")
