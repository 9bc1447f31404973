"""contract/shape.py proves a contract's shape without pydantic, for `dq lint`. It must
never accept what pydantic refuses, and what it builds must be what pydantic builds
(values and their types): on random mappings drawn from the models' own annotations,
mixed with values pydantic coerces or refuses; and a contract it proves clean must be
clean for the full, pydantic path too."""

from __future__ import annotations

import copy
import datetime as dt
import types
import typing
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from dqgate.contract import model as m
from dqgate.contract import shape
from dqgate.contract.check import build_contract, proven_contract
from dqgate.contract.compat import compare
from dqgate.contract.load import load_text
from dqgate.errors import ContractError

# Values pydantic coerces ("0.5" to a float, 1 to True), refuses, or keeps as they are.
NOISE = st.sampled_from([
    None, True, False, 0, 1, -1, 3, 10**30, 0.0, 0.5, 1.5, -2.5, 2000.0, float("inf"), "", "x", "0.5", "7", "true",
    "error", "warn", "latest", "36h", "http://h/x", "1.2.3", dt.date(2024, 5, 1), dt.datetime(2024, 5, 1, 12), [], ["a"],
    [1, 2], {}, {"nulls": "equal"}, {"bogus": 1},
])  # fmt: skip
TEXT = st.sampled_from(["a", "b", "price", "x y", "2024-01-01", "now-1d", "36h", "1d12h", "http://example.com/h", "1.0.0", "ds-1", ""])


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def values(annotation: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly well-typed values for ``annotation``, sometimes noise."""
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        typed = mappings(annotation, depth + 1)
    elif origin is typing.Literal:
        typed = st.sampled_from(typing.get_args(annotation))
    elif origin in (typing.Union, types.UnionType):
        typed = st.one_of([values(a, depth) for a in typing.get_args(annotation)])
    elif origin is list:
        typed = st.lists(values(typing.get_args(annotation)[0], depth + 1), max_size=3)
    elif origin is dict:
        typed = st.dictionaries(st.sampled_from(["a", "b", "c", "x y"]), values(typing.get_args(annotation)[1], depth + 1), max_size=3)
    elif annotation is str:
        typed = TEXT
    elif annotation is bool:
        typed = st.booleans()
    elif annotation is int:
        typed = st.integers(-5, 1200)
    elif annotation is float:
        typed = st.one_of(st.floats(-5, 150, allow_nan=False), st.integers(-5, 150))
    elif annotation is dt.date:
        typed = st.dates()
    elif annotation is dt.datetime:
        typed = st.datetimes()
    else:  # Any
        typed = st.just("x")
    return st.one_of(typed, typed, typed, NOISE) if depth < 4 else NOISE


def _keys(cls: type[BaseModel]) -> dict[str, Any]:
    return {(f.alias or name): f.annotation for name, f in cls.model_fields.items()}


def mappings(cls: type[BaseModel], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping for ``cls``: a random subset of its keys (required ones usually
    included), rarely an unknown key."""
    keys = _keys(cls)
    required = [k for k, (n, f) in zip(keys, cls.model_fields.items(), strict=True) if f.is_required()]
    optional = [k for k in keys if k not in required]

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        chosen = [k for k in required if draw(st.integers(0, 9)) > 0]
        chosen += draw(st.lists(st.sampled_from(optional), unique=True, max_size=4)) if optional else []
        out = {k: draw(values(keys[k], depth)) for k in chosen}
        if draw(st.integers(0, 19)) == 0:
            out[draw(st.sampled_from(["bogus", "in_", "schema_"]))] = 1
        return out

    return build()


def dump(value: Any) -> Any:
    """A built value as (type, content) all the way down, so 1 and 1.0 differ."""
    if isinstance(value, (shape.Record, BaseModel)):
        fields = value.__dict__ if isinstance(value, shape.Record) else {n: getattr(value, n) for n in type(value).model_fields}
        return ("model", {k: dump(v) for k, v in fields.items()})
    if isinstance(value, list):
        return ("list", [dump(v) for v in value])
    if isinstance(value, dict):
        return ("dict", {k: dump(v) for k, v in value.items()})
    return (type(value).__name__, value)


def _agrees(check: shape.Check, cls: type[BaseModel], value: dict[str, Any]) -> bool:
    """Whether ``value`` was proven (and then as pydantic builds it)."""
    built = shape.proven(check, value)
    if built is None:
        return False
    assert dump(built) == dump(cls.model_validate(value))  # raises ValidationError if pydantic refuses
    return True


MODELS = [(shape.contract, m.ContractModel)] + [(shape.CHECKS[k], m.CHECK_MODELS[k]) for k in shape.CHECKS]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.sampled_from(range(len(MODELS))).flatmap(lambda i: st.tuples(st.just(i), mappings(MODELS[i][1]))))
def test_what_shape_proves_pydantic_builds_the_same(drawn: tuple[int, dict[str, Any]]) -> None:
    index, value = drawn
    check, cls = MODELS[index]
    _agrees(check, cls, value)


def test_the_random_mappings_are_often_proven() -> None:
    """Guards the test above from drawing only mappings shape.py gives up on."""
    proven = {cls.__name__: 0 for _, cls in MODELS}

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(range(len(MODELS))).flatmap(lambda i: st.tuples(st.just(i), mappings(MODELS[i][1]))))
    def count(drawn: tuple[int, dict[str, Any]]) -> None:
        check, cls = MODELS[drawn[0]]
        proven[cls.__name__] += _agrees(check, cls, drawn[1])

    count()
    assert all(n >= 3 for n in proven.values()), proven


def test_every_field_of_every_model_is_known_to_shape() -> None:
    """A key added to model.py and not to shape.py would make every contract using it
    fall back to pydantic (safe, but slow): each model's keys must be shape's."""
    value = {"dataset": "d", "schema": {"columns": {"a": {"type": "int64", "unique": {"nulls": "equal"}}}}}
    assert shape.proven(shape.contract, value) is not None
    fields = {"contract": _keys(m.ContractModel), **{k: _keys(c) for k, c in m.CHECK_MODELS.items()}, "column": _keys(m.ColumnCheck)}
    for name, keys in fields.items():
        check = shape.contract if name == "contract" else shape.CHECKS[name]
        known = _model_keys(check)
        assert known == set(keys), name


def _model_keys(check: shape.Check) -> set[str]:
    cell = next(c.cell_contents for c in check.__closure__ or () if isinstance(c.cell_contents, dict))
    return set(cell)


CONTRACT = """\
dataset: orders
version: 1.2.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    amount: {type: float64, range: {min: 0, max: 1000, exclusive_max: true}, mostly: 0.99}
    status: {type: string, in: [new, paid], where: "amount > 0"}
    code: {type: string, pattern: '^[A-Z]{2}$', length: {min: 2, max: 2}, format: iban, severity: warn}
    day: {type: date, range: {min: 2020-01-01, max: now-1d}, freshness: {max_age: 2d}}
  unique: [[id, status], {columns: [code], nulls: equal, mostly: 0.5}]
  foreign_keys: [{columns: [code], references: lookup, to: [code]}]
checks:
  - expect: "amount >= 0"
    name: non_negative
  - metric: mean(amount)
    between: [0, 500]
    change: {max: 0.5}
  - column: status
    required: true
  - metric: recall
    label: status
    prediction: code
    positive: paid
drift:
  reference: 3
  columns:
    amount: {method: psi, max: 0.2}
    status: [{method: chi2, min: 0.01}]
gate: {on_failure: quarantine_rows, publish: replace}
references: {lookup: lookup.parquet}
notify: {url: "https://hooks.example/x", on: [fail, warn], retries: 0}
"""


def test_a_contract_using_every_part_is_proven_clean() -> None:
    doc = load_text(CONTRACT, "c.yaml")
    proven = proven_contract(doc)
    assert proven is not None and not isinstance(proven.model, BaseModel)
    full = build_contract(doc)  # pydantic agrees
    assert dump(proven.model) == dump(full.model) and proven.fragments == full.fragments
    assert [dump(c) for c in proven.checks] == [dump(c) for c in full.checks]


def _edited(data: st.DataObject) -> str:
    """The contract above with one value replaced by a random one of its field, or noise."""
    import yaml

    value = copy.deepcopy(load_text(CONTRACT, "c.yaml").value)  # not yaml.safe_load: YAML 1.1 reads `on:` as True
    section = data.draw(st.sampled_from(["schema", "checks", "drift", "top"]))
    if section == "schema":
        columns = value["schema"]["columns"]
        name = data.draw(st.sampled_from(sorted(columns)))
        key = data.draw(st.sampled_from(sorted(_keys(m.ColumnSpec))))
        columns[name][key] = data.draw(values(_keys(m.ColumnSpec)[key], 1))
    elif section == "checks":
        i = data.draw(st.integers(0, len(value["checks"]) - 1))
        kind = next(k for k in m.CHECK_MODELS if k in value["checks"][i])
        key = data.draw(st.sampled_from(sorted(_keys(m.CHECK_MODELS[kind]))))
        value["checks"][i][key] = data.draw(values(_keys(m.CHECK_MODELS[kind])[key], 1))
    elif section == "drift":
        value["drift"]["columns"]["amount"] = data.draw(values(_keys(m.DriftSpec)["columns"], 2))
    else:
        key = data.draw(st.sampled_from(sorted(_keys(m.ContractModel))))
        value[key] = data.draw(values(_keys(m.ContractModel)[key], 1))
    return yaml.safe_dump(value, sort_keys=False)


def _full(text: str) -> Any:
    try:
        return build_contract(load_text(text, "c.yaml"))
    except ContractError as exc:
        return exc.problems


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_a_contract_proven_clean_is_clean_and_compares_as_pydantics(data: st.DataObject) -> None:
    """Random edits of the contract above: whenever one is proven clean, the pydantic
    path finds no problem in it either; and `--against`'s comparison of two versions
    gives the same changes from the records as from pydantic's models."""
    old, new = _edited(data), _edited(data)
    proven_old, proven_new = proven_contract(load_text(old, "c.yaml")), proven_contract(load_text(new, "c.yaml"))
    full_old, full_new = _full(old), _full(new)
    for proven, full in ((proven_old, full_old), (proven_new, full_new)):
        if proven is not None:
            assert not isinstance(full, tuple), f"proven clean, but: {full}"
            assert dump(proven.model) == dump(full.model) and proven.fragments == full.fragments
    if not isinstance(full_old, tuple) and not isinstance(full_new, tuple):
        want = compare(full_old, full_new)
        assert compare(proven_old or full_old, proven_new or full_new) == want
        assert compare(proven_old or full_old, full_new) == want


def test_the_property_catches_a_shape_that_accepts_too_much() -> None:
    """A proof that let any value through for one field (here ``severity`` of an
    ``expect:`` check) must be caught by the property above on random mappings."""
    from hypothesis import find
    from pydantic import ValidationError

    lax = shape.model({
        "expect": ("expect", shape.text, shape._REQUIRED), "name": ("name", shape.optional(shape.text), None),
        "mostly": ("mostly", shape.optional(shape.number(gt=0, le=1)), None), "severity": ("severity", lambda v: v, "error"),
        "where": ("where", shape.optional(shape.text), None), "scope": ("scope", shape.optional(shape.one_of("snapshot", "batch")), None),
    })  # fmt: skip

    def caught(value: dict[str, Any]) -> bool:
        try:
            _agrees(lax, m.ExpectCheck, value)
        except (AssertionError, ValidationError):
            return True
        return False

    found = find(mappings(m.ExpectCheck), caught, settings=settings(max_examples=2000, database=None))
    assert found["severity"] not in ("error", "warn")
