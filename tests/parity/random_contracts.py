"""Hypothesis building blocks for the parity tests: random tables and random contracts over them.

A table has one column per *role* (``I``, ``J`` ints, ``F`` float, ``S`` string, ``B``
bool, ``D`` date, ``T`` timestamp); the column names are either plain or awkward
(spaces, quotes, unicode, SQL keywords, a dot), so every rule is also an identifier
test. A contract is drawn as a Python mapping covering every rule kind and modifier,
then written as YAML text, which is what dqgate reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import pyarrow as pa
from hypothesis import strategies as st
from oracle import AGG_TEMPLATES, ROW_TEMPLATES, Template, quote

TYPES = {"I": "int64", "J": "int64", "F": "float64", "S": "string", "B": "bool", "D": "date", "T": "timestamp"}
ARROW = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string(), "bool": pa.bool_(),
         "date": pa.date32(), "timestamp": pa.timestamp("us")}  # fmt: skip
PLAIN = {"I": "i", "J": "j", "F": "f", "S": "s", "B": "b", "D": "d", "T": "ts"}
AWKWARD = {"I": "select", "J": "it's", "F": "my col", "S": "höhe", "B": 'say "hi"', "D": "order", "T": "Zeit.Stempel"}
# Names DuckDB cannot tell apart (its identifiers ignore case, quoted or not): pairs that differ only in case
# (ASCII and not), with spaces and quotes. They must still be checked exactly, each on its own column.
CASED = {"I": "a", "J": "A", "F": "my Col", "S": "My col", "B": 'say "Hi"', "D": "höhe", "T": "HÖHE"}
AS_OF = dt.datetime(2024, 1, 21, tzinfo=dt.timezone.utc)

STRINGS = (
    "", "a", "ab", "abc", "x", "B", "é", "e\u0301", "ü", "日本", "😀", "a b", "N123AB", "N9",
    "a@b.co", "x@y", "550e8400-e29b-41d4-a716-446655440000", "4111111111111111", "192.168.0.1",
    "2024-02-29", "2024-02-30", "https://e.org/p?q=1", '{"k": [1]}', "DE89370400440532013000",
)  # fmt: skip
PATTERNS = ("[a-z]+", "a.*", "(a|ab)c?", "[^a]*", ".{1,2}", "N[0-9]{1,5}[A-Z]{0,2}", "x|", "", "é|ü", ".*@.*")
FORMATS = ("email", "uuid", "url", "ipv4", "ipv6", "iso_date", "iso_datetime", "luhn", "iban", "json")
AGES = ("45s", "90m", "36h", "1d", "2d12h", "10d")
# Bounds relative to the check time (AS_OF = 2024-01-21 00:00 UTC), within the data's 2024-01-01..20.
RELATIVE = ("now", "now-1w", "now-2w", "now-3d", "now-10d", "now-12h", "now-1d", "now-20d", "now+1h")


def _offset(text: str) -> int:
    import re

    m = re.fullmatch(r"now(?:([+-])(\d+)([smhdw]))?", text)
    assert m is not None
    if not m.group(1):
        return 0
    seconds = int(m.group(2)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(3)]
    return -seconds if m.group(1) == "-" else seconds


def _instant_of(value: Any) -> dt.datetime:
    """Any temporal bound drawn here as a naive datetime, to keep a drawn pair ordered."""
    if isinstance(value, str) and value.startswith("now"):
        return AS_OF.replace(tzinfo=None) + dt.timedelta(seconds=_offset(value))
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if len(value) > 10 else dt.date.fromisoformat(value)
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
METRIC_SPELLING = {"mean": ("mean", "avg"), "stddev": ("stddev", "stddev_samp")}

Draw = Callable[[st.SearchStrategy[Any]], Any]

_small_int = st.integers(-5, 5)
_quarter = st.integers(-400, 400).map(lambda k: k / 4)
_day = st.dates(dt.date(2024, 1, 1), dt.date(2024, 1, 20))
_moment = st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 20, 23, 59, 59))


def _nullable(base: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), base, base)


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "I": _nullable(_small_int),
    "J": _nullable(st.integers(-1000, 1000) | _small_int),
    "F": _nullable(_quarter | st.sampled_from([0.1, -0.3, 1e-3, 12345.678])),
    "S": _nullable(st.sampled_from(STRINGS) | st.text("abxé😀 ", max_size=3)),
    "B": _nullable(st.booleans()),
    "D": _nullable(_day),
    "T": _nullable(_moment),
}


@st.composite
def rows(draw: Draw, min_size: int = 1, max_size: int = 25) -> list[dict[str, Any]]:
    """Rows keyed by role; some repeated whole, so keys (also composite ones) repeat."""
    base = draw(st.lists(st.fixed_dictionaries(VALUES), min_size=min_size, max_size=max_size))
    return base + [dict(r) for r in draw(st.lists(st.sampled_from(base), max_size=4))]


def ref_rows() -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(st.fixed_dictionaries({"code": _nullable(_small_int), "name": _nullable(st.sampled_from(STRINGS[:8]))}), max_size=8)


def arrow_table(role_rows: list[dict[str, Any]], names: dict[str, str], extra: bool = False) -> pa.Table:
    """The rows as an Arrow table with the roles' names and types (plus an undeclared column)."""
    arrays = {names[r]: pa.array([row[r] for row in role_rows], type=ARROW[t]) for r, t in TYPES.items()}
    if extra:
        arrays["undeclared"] = pa.array(range(len(role_rows)), type=pa.int64())
    return pa.table(arrays) if arrays else pa.table({})


def named(role_rows: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    return [{names[r]: v for r, v in row.items()} for row in role_rows]


class ContractBuilder:
    """Draws one random contract; remembers which templates it used, for the oracle."""

    def __init__(self, draw: Draw, names: dict[str, str], ref_path: str) -> None:
        self.draw = draw
        self.names = names
        self.ref_path = ref_path
        self.row_templates: list[Template] = []
        self.agg_templates: list[Template] = []
        self.n_checks = 0
        # Sparse contracts and all-warn contracts, so that runs also pass and warn overall.
        self.density = draw(st.sampled_from([1.0, 1.0, 0.3]))
        self.all_warn = draw(st.integers(0, 3)) == 0

    def chance(self, p: float) -> bool:
        return bool(self.draw(st.integers(0, 99)) < p * 100)

    def rule_chance(self, p: float) -> bool:
        return self.chance(p * self.density)

    def where(self) -> str | None:
        if not self.chance(0.3):
            return None
        t = self.draw(st.sampled_from(ROW_TEMPLATES))
        self.row_templates.append(t)
        return t.render(self.names)

    def modifiers(self, spec: dict[str, Any]) -> None:
        if self.chance(0.3):
            spec["mostly"] = self.draw(st.sampled_from([0.3, 0.5, 0.75, 0.9, 1.0]))
        if self.all_warn or self.chance(0.3):
            spec["severity"] = "warn" if self.all_warn else self.draw(st.sampled_from(["warn", "error"]))
        where = self.where()
        if where:
            spec["where"] = where

    def name(self, spec: dict[str, Any]) -> None:
        self.n_checks += 1
        if self.chance(0.5):
            spec["name"] = f"check_{self.n_checks}"

    def _bounds(self, role: str) -> tuple[Any, Any]:
        """Two ordered bounds of one kind (a contract must be able to compare them)."""
        kind = {"T": ("datetime", "date", "str"), "D": ("date", "datestr")}.get(role, (role,))
        strategy = {
            "I": _small_int | st.sampled_from([1.5, -2.5]), "J": st.integers(-1000, 1000), "F": _quarter,
            "S": st.sampled_from(STRINGS), "date": _day, "datestr": _day.map(str), "datetime": _moment,
            "str": _moment.map(lambda m: m.isoformat(sep=" ")),
        }[self.draw(st.sampled_from(kind))]  # fmt: skip
        lo, hi = sorted([self.draw(strategy), self.draw(strategy)])
        return lo, hi

    def rules(self, role: str, *, at_least_one: bool = False) -> dict[str, Any]:
        """Column rules fitting the role's type."""
        out: dict[str, Any] = {}
        while True:
            if self.rule_chance(0.2):
                out["required"] = True
            if role in "IJSDTF" and self.rule_chance(0.2):
                out["unique"] = self.draw(st.sampled_from([True, True, {"nulls": "equal"}, {"nulls": "distinct"}]))
            if role != "B" and self.rule_chance(0.25):
                lo, hi = self._bounds(role)
                if role in "DT" and self.chance(0.4):  # relative to the check time (AS_OF = 2024-01-21)
                    lo, hi = sorted(self.draw(st.lists(st.sampled_from(RELATIVE), min_size=2, max_size=2)), key=_offset)
                exclusive = self.draw(st.sampled_from(["", "", "exclusive", "exclusive_min", "exclusive_max"])) if lo != hi else ""
                rng: dict[str, Any] = {}
                side = self.draw(st.sampled_from(["both", "min", "max"]))
                if side != "max":
                    rng["min"] = lo
                if side != "min":
                    rng["max"] = hi
                if exclusive == "exclusive" or (exclusive == "exclusive_min" and "min" in rng) or (exclusive == "exclusive_max" and "max" in rng):
                    rng[exclusive] = True
                out["range"] = rng
            if role != "T" and self.rule_chance(0.25):
                out["in"] = self.draw(st.lists(VALUES[role].filter(lambda v: v is not None), min_size=1, max_size=4))
            if role == "S":
                if self.rule_chance(0.3):
                    out["pattern"] = self.draw(st.sampled_from(PATTERNS))
                if self.rule_chance(0.25):
                    lo, hi = sorted([self.draw(st.integers(0, 4)), self.draw(st.integers(0, 4))])
                    out["length"] = self.draw(st.sampled_from([{"min": lo, "max": hi}, {"min": lo}, {"max": hi}]))
                if self.rule_chance(0.3):
                    out["format"] = self.draw(st.sampled_from(FORMATS))
            if role in "IJS" and self.rule_chance(0.2):
                out["references"] = "ref.name" if role == "S" else "ref.code"
            if role in "DT" and self.rule_chance(0.3):
                out["freshness"] = {"max_age": self.draw(st.sampled_from(AGES))}
            if out or not at_least_one:
                return out

    def metric(self) -> dict[str, Any]:
        func = self.draw(st.sampled_from(
            ["row_count", "null_count", "null_fraction", "distinct_count", "min", "max", "sum", "mean",
             "stddev", "median", "quantile", "sql", "sql"]))  # fmt: skip
        numeric = True
        if func == "row_count":
            text = "row_count"
        elif func == "sql":
            t = self.draw(st.sampled_from(AGG_TEMPLATES))
            self.agg_templates.append(t)
            text = t.render(self.names)
        else:
            roles = "IJF" if func in ("sum", "mean", "stddev", "median", "quantile") else "IJFSDTB"
            if func in ("min", "max"):
                roles = "IJFSDT"
            role = self.draw(st.sampled_from(list(roles)))
            numeric = role in "IJF" or func in ("null_count", "null_fraction", "distinct_count")
            spelled = self.draw(st.sampled_from(METRIC_SPELLING.get(func, (func,))))
            col = quote(self.names[role])
            text = f"quantile({col}, {self.draw(st.sampled_from([0, 0.1, 0.25, 0.5, 0.9, 1]))})" if func == "quantile" else f"{spelled}({col})"
        spec: dict[str, Any] = {"metric": text}
        self.name(spec)
        if func in ("min", "max") and not numeric and role in "DT" and self.chance(0.7):
            pick = st.sampled_from(RELATIVE) | (_day.map(str) if role == "D" else _moment.map(lambda m: m.isoformat(sep=" "))) | _day
            a, b = self.draw(pick), self.draw(pick)
            key = self.draw(st.sampled_from([("min", "max"), ("greater_than", "less_than"), ("min", "less_than")]))
            form = self.draw(st.sampled_from(["lo", "hi", "both"]))
            if form != "hi":
                spec[key[0]] = a
            if form != "lo":
                spec[key[1]] = b
            if form == "both" and _instant_of(a) >= _instant_of(b):
                spec.pop(key[1])  # keep the bounds possible
        if numeric:
            top = 1 if func == "null_fraction" else 40
            lo, hi = sorted([self.draw(st.integers(-10, 2 * top)) / 2, self.draw(st.integers(-10, 2 * top)) / 2])
            hi = min(hi, top)
            lo = min(lo, hi)
            form = self.draw(st.sampled_from(["none", "min", "max", "both", "between", "strict"]))
            if form in ("min", "both"):
                spec["min"] = lo
            if form in ("max", "both"):
                spec["max"] = hi
            if form == "between":
                spec["between"] = [lo, hi]
            if form == "strict":
                if self.chance(0.5):
                    spec["greater_than"] = lo
                if lo < hi and self.chance(0.7):
                    spec["less_than" if self.chance(0.5) else "max"] = hi
        if self.all_warn or self.chance(0.3):
            spec["severity"] = "warn"
        where = self.where()
        if where:
            spec["where"] = where
        return spec

    def contract(self) -> dict[str, Any]:
        names = self.names
        columns: dict[str, Any] = {}
        for role, typ in TYPES.items():
            spec: dict[str, Any] = {"type": typ, **self.rules(role)}
            if len(spec) > 1:
                self.modifiers(spec)
            columns[names[role]] = spec
        checks: list[dict[str, Any]] = []
        few = 1 if self.density < 1 else 3
        for _ in range(self.draw(st.integers(0, min(few, 2)))):
            role = self.draw(st.sampled_from(list(TYPES)))
            check: dict[str, Any] = {"column": names[role], **self.rules(role, at_least_one=True)}
            self.name(check)
            self.modifiers(check)
            checks.append(check)
        for _ in range(self.draw(st.integers(0, few))):
            t = self.draw(st.sampled_from(ROW_TEMPLATES))
            self.row_templates.append(t)
            check = {"expect": t.render(names)}
            self.name(check)
            self.modifiers(check)
            checks.append(check)
        checks += [self.metric() for _ in range(self.draw(st.integers(0, few + 1)))]
        schema: dict[str, Any] = {"strict": self.chance(0.3), "columns": columns}
        if self.chance(0.4 * self.density):
            pair = self.draw(st.sampled_from([("I", "S"), ("I", "J"), ("D", "I"), ("B", "S"), ("T", "F")]))
            key: Any = [names[r] for r in pair]
            if self.chance(0.5):  # the mapping form, with modifiers
                key = {"columns": key}
                if self.chance(0.4):
                    key["nulls"] = self.draw(st.sampled_from(["equal", "distinct"]))
                self.modifiers(key)
                if self.chance(0.3):
                    self.n_checks += 1
                    key["name"] = f"key_{self.n_checks}"
            schema["unique"] = [key]
        if self.chance(0.25 * self.density):  # a composite foreign key into ref(code, name)
            fk: dict[str, Any] = {"columns": [names["I"], names["S"]], "references": "ref", "to": ["code", "name"]}
            self.modifiers(fk)
            schema["foreign_keys"] = [fk]
        if self.chance(0.3):
            schema["key"] = [names["J"]]
        return {"dataset": "parity", "version": "1.0.0", "schema": schema, "checks": checks, "references": {"ref": self.ref_path}}
