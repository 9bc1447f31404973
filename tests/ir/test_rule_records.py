"""The rule classes share Rule's frozen, keyword-only methods instead of generated ones
(ir/nodes.py, for import time): each must behave exactly as the
``@dataclass(frozen=True, kw_only=True)`` of the same fields would.

For every rule class a twin is generated with those dataclass options from the class's
own fields, and random keyword sets (some missing a required field, some with a stray
keyword) must give the same construction outcome, equality, hash, repr, ``replace``,
pickling and refusal to be changed.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dqgate.ir import nodes as n

VALUES = st.one_of(st.none(), st.integers(-3, 3), st.text("ab", max_size=2), st.tuples(st.sampled_from("xy")), st.booleans())


def _twin(cls: type) -> type:
    """A generated ``@dataclass(frozen=True, kw_only=True)`` with ``cls``'s fields."""
    specs = [(f.name, object, dataclasses.field(default=f.default) if f.default is not dataclasses.MISSING else dataclasses.field())
             for f in dataclasses.fields(cls)]  # fmt: skip
    return dataclasses.make_dataclass(cls.__qualname__, specs, frozen=True, kw_only=True)


TWINS = {cls: _twin(cls) for cls in n.ALL_RULES}


def _build(cls: type, kwargs: dict[str, object]) -> tuple[str, object]:
    try:
        return "ok", cls(**kwargs)
    except TypeError as exc:
        return "TypeError", str(exc)


@settings(max_examples=300, deadline=None)
@given(
    cls=st.sampled_from(n.ALL_RULES),
    picked=st.data(),
)
def test_each_rule_class_behaves_as_its_frozen_keyword_only_dataclass(cls: type, picked: st.DataObject) -> None:
    twin = TWINS[cls]
    names = [f.name for f in dataclasses.fields(cls)]
    chosen = picked.draw(st.lists(st.sampled_from(names), unique=True))
    kwargs = {name: picked.draw(VALUES, label=name) for name in chosen}
    if picked.draw(st.booleans(), label="stray keyword"):
        kwargs["not_a_field"] = 1
    mine, theirs = _build(cls, kwargs), _build(twin, kwargs)
    assert mine[0] == theirs[0]
    if mine[0] != "ok":  # named: the stray keyword first (as Python's own binding does), else a missing field
        required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
        culprit = "not_a_field" if "not_a_field" in kwargs else next(f for f in required if f not in kwargs)
        assert str(mine[1]).endswith(repr(culprit)) and culprit in str(theirs[1])
        return
    rule, ref = mine[1], theirs[1]
    assert [getattr(rule, f) for f in names] == [getattr(ref, f) for f in names]
    assert repr(rule) == repr(ref)
    other = cls(**{**kwargs, "id": "other"}) if "id" in kwargs else None
    assert rule == cls(**kwargs) and hash(rule) == hash(cls(**kwargs)) == hash(ref)
    if other is not None:
        assert (rule == other) == (ref == twin(**{**kwargs, "id": "other"}))
    assert rule != ref  # another class is never equal, as for dataclasses
    changed = dataclasses.replace(rule, line=7)
    assert type(changed) is cls and changed.line == 7 and dataclasses.replace(changed, line=rule.line) == rule
    assert pickle.loads(pickle.dumps(rule)) == rule
    for name in (names[0], "not_a_field"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(rule, name, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(rule, names[0])


def test_rule_classes_are_dataclasses_with_their_subclass_fields() -> None:
    assert [f.name for f in dataclasses.fields(n.Unique)] == ["id", "severity", "where", "columns", "line", "scope", "mostly", "nulls_equal"]
    assert all(dataclasses.is_dataclass(cls) for cls in n.ALL_RULES)
    assert n.SlicedMetric(id="m", metric=n.Metric(id="x")).metric == n.Metric(id="x")
