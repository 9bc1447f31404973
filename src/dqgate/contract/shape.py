"""Prove, without pydantic, that a contract's YAML has the shape ``model.py`` describes,
and build the same values pydantic would: for `dq lint` of an edited contract, where
importing pydantic and building the 21 models (~0.15 s) is most of the wait.

This is a *proof*, not a second validator: it accepts only values whose result under
pydantic is certain (exact Python types: a ``bool`` where a bool is asked, ``int`` or
``float`` where a number is, ``str`` where text is; only the keys ``model.py`` names,
by their YAML spelling) and says None for anything else: a wrong shape, a value pydantic
would coerce or refuse (``"0.5"`` for a float, ``1`` for a bool, a timestamp), an unknown
key. None means "not proven", and the caller validates with pydantic, whose messages
are the ones a user sees. So a contract with any problem, or with any unusual spelling,
still goes through pydantic; a plain valid one never needs it.

What is built is a tree of :class:`Record` objects carrying the same attribute names and
values (defaults included) as the pydantic model instances, so ``check.py``'s cross-field
checks run on it unchanged. tests/contract/test_shape.py holds both against pydantic on
random contracts (hypothesis): whatever this accepts, pydantic accepts with the same
values, types included.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Callable

from dqgate.contract.bounds import OpenEnds
from dqgate.contract.names import FORMAT_NAMES, TYPE_NAMES, drift_methods, parse_duration


class NotProven(Exception):
    """The value is not one whose pydantic result is certain."""


class Record:
    """A validated mapping, read by attribute like a model instance."""

    _defaults: dict[str, Any] = {}  # attribute -> default (a callable makes it), set per model

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def model_dump(self, *, exclude_defaults: bool = False) -> dict[str, Any]:
        """As pydantic's: the fields by attribute name, nested records as mappings;
        ``exclude_defaults`` leaves out fields equal to their default."""
        out = {}
        for attr, value in self.__dict__.items():
            if exclude_defaults and attr in self._defaults:
                default = self._defaults[attr]
                if value == (default() if callable(default) else default):
                    continue
            out[attr] = _dumped(value, exclude_defaults)
        return out


def _dumped(value: Any, exclude_defaults: bool) -> Any:
    if isinstance(value, Record):
        return value.model_dump(exclude_defaults=exclude_defaults)
    if isinstance(value, list):
        return [_dumped(v, exclude_defaults) for v in value]
    if isinstance(value, dict):
        return {k: _dumped(v, exclude_defaults) for k, v in value.items()}
    return value


class RangeRecord(Record, OpenEnds):
    """``model.RangeSpec``'s properties."""


class DriftRecord(Record):
    """``model.DriftSpec.methods``."""

    def methods(self) -> list[tuple[str, int | None, Any]]:
        return drift_methods(self.columns)


Check = Callable[[Any], Any]
_REQUIRED = object()


def _fail() -> Any:
    raise NotProven


def text(value: Any) -> str:
    return value if type(value) is str else _fail()


def flag(value: Any) -> bool:
    return value if type(value) is bool else _fail()


def optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def integer(*, ge: int | None = None, le: int | None = None) -> Check:
    def check(value: Any) -> int:
        if type(value) is not int or (ge is not None and value < ge) or (le is not None and value > le):
            raise NotProven
        return value

    return check


def number(*, gt: float | None = None, ge: float | None = None, le: float | None = None) -> Check:
    """A float field: an int or a finite float (an int as pydantic gives it, a float)."""

    def check(value: Any) -> float:
        if type(value) is int:
            if abs(value) > 2**53:
                raise NotProven
            value = float(value)
        elif type(value) is not float or not math.isfinite(value):
            raise NotProven
        if (gt is not None and not value > gt) or (ge is not None and not value >= ge) or (le is not None and not value <= le):
            raise NotProven
        return value

    return check


def one_of(*choices: str) -> Check:
    allowed = frozenset(choices)
    return lambda value: value if type(value) is str and value in allowed else _fail()


def exact(*types: type) -> Check:
    """A union of plain types whose members each keep a value of their own type as it
    is (pydantic's smart mode picks the exact match); floats finite."""

    def check(value: Any) -> Any:
        if type(value) not in types or (type(value) is float and not math.isfinite(value)):
            raise NotProven
        return value

    return check


def matching(pattern: str) -> Check:
    compiled = re.compile(pattern)
    return lambda value: value if type(value) is str and compiled.fullmatch(value) else _fail()


def list_of(check: Check, *, min_length: int = 0, max_length: int | None = None) -> Check:
    def validate(value: Any) -> list[Any]:
        if type(value) is not list or len(value) < min_length or (max_length is not None and len(value) > max_length):
            raise NotProven
        return [check(v) for v in value]

    return validate


def dict_of(check: Check) -> Check:
    def validate(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise NotProven
        return {text(k): check(v) for k, v in value.items()}

    return validate


def by_shape(*, scalar: Check | None = None, mapping: Check | None = None, listed: Check | None = None) -> Check:
    """``model.shape_of``'s discriminated unions: the member is chosen by the YAML shape."""

    def check(value: Any) -> Any:
        member = mapping if type(value) is dict else listed if type(value) is list else scalar
        return member(value) if member is not None else _fail()

    return check


def model(fields: dict[str, tuple[str, Check, Any]], record: type[Record] = Record) -> Check:
    """A model with ``extra="forbid"``: YAML key -> (attribute, check, default)."""
    defaults = {attr: default for attr, _, default in fields.values() if default is not _REQUIRED}
    record = type(record.__name__, (record,), {"_defaults": defaults})

    def check(value: Any) -> Record:
        if type(value) is not dict or not value.keys() <= fields.keys():
            raise NotProven
        out = {}
        for key, (attr, validate, default) in fields.items():
            if key in value:
                out[attr] = validate(value[key])
            elif default is _REQUIRED:
                raise NotProven
            else:
                out[attr] = default() if callable(default) else default
        return record(**out)

    return check


def _duration(value: Any) -> str:
    try:
        parse_duration(text(value))
    except ValueError:
        raise NotProven from None
    return value


_SEVERITY = ("severity", one_of("error", "warn"), "error")
_WHERE = ("where", optional(text), None)
_SCOPE = ("scope", optional(one_of("snapshot", "batch")), None)
_NAME = ("name", optional(text), None)
_MODIFIERS = {"mostly": ("mostly", optional(number(gt=0, le=1)), None), "severity": _SEVERITY, "where": _WHERE, "scope": _SCOPE}
_NULLS = {"nulls": ("nulls", one_of("distinct", "equal"), "distinct")}
_BOUND = exact(int, float, str, dt.date)
_RULES = {
    "required": ("required", flag, False),
    "unique": ("unique", by_shape(scalar=flag, mapping=model(_NULLS)), False),
    "range": ("range", optional(model({
        "min": ("min", optional(_BOUND), None), "max": ("max", optional(_BOUND), None),
        "exclusive": ("exclusive", flag, False), "exclusive_min": ("exclusive_min", flag, False),
        "exclusive_max": ("exclusive_max", flag, False),
    }, RangeRecord)), None),
    "in": ("in_", optional(list_of(exact(int, float, str, bool, dt.date), min_length=1)), None),
    "pattern": ("pattern", optional(text), None),
    "length": ("length", optional(model({
        "min": ("min", optional(integer(ge=0)), None), "max": ("max", optional(integer(ge=0)), None),
    })), None),
    "format": ("format", optional(one_of(*FORMAT_NAMES)), None),
    "references": ("references", optional(text), None),
    "freshness": ("freshness", optional(model({"max_age": ("max_age", _duration, _REQUIRED)})), None),
}  # fmt: skip
_COLUMNS = list_of(text, min_length=1)

column_spec = model({
    **_RULES, **_MODIFIERS,
    "type": ("type", optional(one_of(*TYPE_NAMES)), None),
    "description": ("description", optional(text), None),
    "coerce": ("coerce", optional(flag), None),
})  # fmt: skip
_SCHEMA = model({
    "strict": ("strict", flag, False),
    "coerce": ("coerce", flag, False),
    "columns": ("columns", dict_of(column_spec), dict),
    "unique": ("unique", list_of(by_shape(
        listed=_COLUMNS,
        mapping=model({**_MODIFIERS, **_NULLS, "columns": ("columns", _COLUMNS, _REQUIRED), "name": _NAME}),
    )), list),
    "key": ("key", optional(list_of(text)), None),
    "foreign_keys": ("foreign_keys", list_of(model({
        **_MODIFIERS, "columns": ("columns", _COLUMNS, _REQUIRED), "references": ("references", text, _REQUIRED),
        "to": ("to", optional(_COLUMNS), None), "name": _NAME,
    })), list),
})  # fmt: skip
_METRIC_BOUND = optional(exact(float, int, str, dt.date))
_DRIFT_COLUMN = model({
    "method": ("method", one_of("psi", "ks", "js", "linf", "chi2"), _REQUIRED),
    "bins": ("bins", integer(ge=2, le=1000), 10),
    "max": ("max", optional(number()), None),
    "min": ("min", optional(number()), None),
    "severity": _SEVERITY,
    "where": _WHERE,
})  # fmt: skip

CHECKS: dict[str, Check] = {
    "column": model({**_RULES, **_MODIFIERS, "column": ("column", text, _REQUIRED), "name": _NAME}),
    "expect": model({**_MODIFIERS, "expect": ("expect", text, _REQUIRED), "name": _NAME}),
    "metric": model({
        "metric": ("metric", text, _REQUIRED), "name": _NAME,
        "min": ("min", _METRIC_BOUND, None), "max": ("max", _METRIC_BOUND, None),
        "greater_than": ("greater_than", _METRIC_BOUND, None), "less_than": ("less_than", _METRIC_BOUND, None),
        "between": ("between", optional(list_of(exact(float, int, str, dt.date), min_length=2, max_length=2)), None),
        "severity": _SEVERITY, "where": _WHERE,
        "by": ("by", optional(_COLUMNS), None),
        "label": ("label", optional(text), None), "prediction": ("prediction", optional(text), None),
        "score": ("score", optional(text), None),
        "positive": ("positive", optional(exact(int, float, str, bool)), None),
        "average": ("average", optional(one_of("binary", "macro", "micro", "weighted", "per_class")), None),
        "change": ("change", optional(model({"max": ("max", number(ge=0), _REQUIRED)})), None),
        "anomaly": ("anomaly", optional(model({
            "method": ("method", one_of("zscore", "mad"), "zscore"),
            "window": ("window", integer(ge=3, le=1000), 10),
            "max": ("max", number(gt=0), 3.0),
        })), None),
        "scope": _SCOPE,
    }),
}  # fmt: skip

_GATE = model({
    "on_failure": ("on_failure", one_of("quarantine_batch", "quarantine_rows", "fail"), "quarantine_batch"),
    "publish": ("publish", one_of("append", "replace"), "append"),
})
contract = model({
    "dataset": ("dataset", matching(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"), _REQUIRED),
    "version": ("version", matching(r"[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?"), "0.1.0"),
    "owner": ("owner", optional(text), None),
    "description": ("description", optional(text), None),
    "source": ("source", optional(text), None),
    "nan": ("nan", one_of("missing", "value"), "missing"),
    "schema": ("schema_", _SCHEMA, lambda: _SCHEMA({})),
    "checks": ("checks", list_of(dict_of(lambda v: v)), list),
    "drift": ("drift", optional(model({
        "reference": ("reference", exact(int, str), "latest"),
        "columns": ("columns", dict_of(by_shape(mapping=_DRIFT_COLUMN, listed=list_of(_DRIFT_COLUMN, min_length=1))), dict),
    }, DriftRecord)), None),
    "gate": ("gate", _GATE, lambda: _GATE({})),
    "references": ("references", dict_of(text), dict),
    "notify": ("notify", optional(model({
        "url": ("url", matching(r"https?://.*"), _REQUIRED),
        "on": ("on", list_of(one_of("fail", "warn")), lambda: ["fail"]),
        "timeout": ("timeout", number(gt=0, le=120), 5.0),
        "retries": ("retries", integer(ge=0, le=10), 3),
    })), None),
})  # fmt: skip


def proven(check: Check, value: Any) -> Any:
    """``check(value)``, or None when the value's pydantic result is not certain."""
    try:
        return check(value)
    except NotProven:
        return None
