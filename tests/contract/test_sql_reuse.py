"""contract/sql.py keeps fragments it vetted for the rest of the process (a lint of many
contracts repeats its `where:`/`expect:` texts): a kept fragment must give exactly the
answer a fresh vet gives, whatever columns or references the next contract declares."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dqgate.contract import sql

NAMES = ["a", "b", "c", "A", "x y"]
TEXTS = [
    "a > 0", "a + b > c", "A IS NULL", '"x y" = 1', "a > 0 AND (SELECT 1 FROM lookup) = 1",
    "sum(a) > 0", "count(*) FILTER (WHERE b = 1)", "lenght(a) > 1", "zz > 0", "a >",
]  # fmt: skip


def _answer(text: str, columns: dict[str, str], refs: tuple[str, ...], aggregate: bool) -> object:
    try:
        return sql.vet(text, columns=columns, references=refs, aggregate=aggregate)
    except sql.SqlProblem as exc:
        return ("problem", str(exc))


def _fresh(text: str, columns: dict[str, str], refs: tuple[str, ...], aggregate: bool) -> object:
    kept = dict(sql._VETTED)
    sql._VETTED.clear()
    try:
        return _answer(text, columns, refs, aggregate)
    finally:
        sql._VETTED.clear()
        sql._VETTED.update(kept)


# Mostly columns declared under their own names (what a contract gives), sometimes one
# mapped to another spelling.
column_sets = st.builds(
    lambda names, odd: {**{n: n for n in names}, **odd},
    st.sets(st.sampled_from(NAMES)),
    st.dictionaries(st.sampled_from(NAMES), st.sampled_from(NAMES), max_size=1),
)
contracts = st.tuples(
    st.sampled_from(TEXTS),
    column_sets,
    st.sampled_from([(), ("lookup",), ("other",)]),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(contracts, min_size=1, max_size=12))
def test_a_kept_fragment_answers_as_a_fresh_vet(sequence: list[tuple]) -> None:
    sql._VETTED.clear()
    for text, columns, refs, aggregate in sequence:  # the same texts over differing contracts
        assert _answer(text, columns, refs, aggregate) == _fresh(text, columns, refs, aggregate)


def test_a_fragment_is_parsed_once_per_process() -> None:
    sql._VETTED.clear()
    first = sql.vet("a > 0 OR b IS NULL", columns={"a": "a", "b": "b"}, aggregate=False)
    again = sql.vet("a > 0 OR b IS NULL", columns={"a": "a", "b": "b", "c": "c"}, aggregate=False)
    assert again is first  # reused, not vetted again
    try:
        sql.vet("a > 0 OR b IS NULL", columns={"a": "a"}, aggregate=False)
    except sql.SqlProblem as exc:
        assert "unknown column 'b'" in str(exc)
    else:
        raise AssertionError("a kept fragment answered for a contract without its column")
