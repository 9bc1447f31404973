"""contract/sql_cache.py keeps vetted SQL fragments and read metrics on disk, so a lint
of a contract whose SQL was seen before needs no sqlglot. Reuse must be exact: a
contract linted with the cache gives the very answer (problems, or vetted fragments) a
lint without it gives, whatever the contracts linted before it declared; a corrupt
entry is ignored; and the property test is shown to catch a cache whose reuse rule
leaves out what the answer depends on."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dqgate.contract import metric, parse_contract, sql, sql_cache
from dqgate.contract.lint_cache import cache_folder
from dqgate.errors import ContractError

NAMES = ["a", "b", "c", "A", "x y", "d_1"]
TYPES = ["int64", "float64", "string", "date", "timestamp", "bool"]
EXPECTS = [
    "a > 0", "a + b > c", "A IS NULL", '"x y" = 1', "a > 0 AND (SELECT count(*) FROM lookup) > 1",
    "lenght(a) > 1", "zz > 0", "a >", "round(a, 1, 2) = 1", "sum(a) > 0", "coalesce(b, c) IS NOT NULL",
    "d_1 BETWEEN 0 AND 10", "upper(c) = 'X'",
]  # fmt: skip
METRICS = [
    "row_count", "mean(a)", "quantile(b, 0.9)", "null_fraction(c)", "count(*) FILTER (WHERE a > 0)",
    "sum(a) / count(*)", "mean(zz)", "avg(A)", "max(d_1)", "rowcount", "sum(b) FILTER (WHERE lenght(c) > 1)",
]  # fmt: skip


def _contract(columns: dict[str, str], refs: list[str], checks: list[tuple[str, str, str | None]]) -> str:
    """Contract YAML; texts are written as JSON strings (YAML double-quoted scalars)."""
    lines = ["dataset: t", "schema:", "  columns:" if columns else "  columns: {}"]
    lines += [f"    {json.dumps(name)}: {{type: {kind}}}" for name, kind in columns.items()]
    lines.append("checks:")
    for kind, text, where in checks:
        lines.append(f"  - {kind}: {json.dumps(text)}")
        if kind == "metric":
            lines.append("    min: 0")
        if where is not None:
            lines.append(f"    where: {json.dumps(where)}")
    if refs:
        lines.append("references:")
        lines += [f"  {r}: {r}.parquet" for r in refs]
    return "\n".join(lines) + "\n"


check_entries = st.one_of(
    st.tuples(st.just("expect"), st.sampled_from(EXPECTS), st.none() | st.sampled_from(EXPECTS)),
    st.tuples(st.just("metric"), st.sampled_from(METRICS), st.none() | st.sampled_from(EXPECTS)),
)
contracts = st.builds(
    _contract,
    st.dictionaries(st.sampled_from(NAMES), st.sampled_from(TYPES), max_size=5),
    st.lists(st.sampled_from(["lookup", "other"]), unique=True, max_size=2),
    st.lists(check_entries, min_size=1, max_size=4),
)


def _answer(text: str) -> object:
    """What a lint of ``text`` concludes: its problems, or the fragments it vetted."""
    sql._VETTED.clear()  # no in-process reuse: only the disk cache may answer
    metric._tree.cache_clear()
    try:
        return ("ok", parse_contract(text, "c.yaml").fragments)
    except ContractError as exc:
        return ("problems", exc.problems)


def _same_answers(texts: list[str], folder: str) -> None:
    """Lint ``texts`` in turn with the cache in ``folder``; each answer must equal a lint
    without any cache."""
    for text in texts:
        os.environ["DQGATE_CACHE"] = "0"  # the autouse fixture removed any value the session had
        try:
            fresh = _answer(text)
        finally:
            del os.environ["DQGATE_CACHE"]
        assert _answer(text) == fresh, text


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DQGATE_CACHE", raising=False)


@settings(max_examples=120, deadline=None)
@given(st.lists(contracts, min_size=2, max_size=6))
def test_a_cached_answer_equals_a_fresh_one(texts: list[str]) -> None:
    saved = os.environ.get("DQGATE_CACHE_DIR")  # the test session's (conftest.py): put back after
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DQGATE_CACHE_DIR"] = folder
        try:
            _same_answers(texts, folder)
            _same_answers(texts, folder)  # again, every entry now on disk
        finally:
            if saved is None:
                del os.environ["DQGATE_CACHE_DIR"]
            else:
                os.environ["DQGATE_CACHE_DIR"] = saved


def _two(first_columns: dict[str, str], second_columns: dict[str, str], check: tuple[str, str, None]) -> list[str]:
    return [_contract(first_columns, [], [check]), _contract(second_columns, [], [check])]


@pytest.mark.parametrize(
    "texts",
    [
        _two({"a": "int64", "b": "int64", "c": "int64"}, {"a": "int64", "c": "int64"}, ("expect", "a + b > c", None)),
        _two({"a": "float64"}, {"b": "float64"}, ("metric", "mean(a)", None)),
    ],
    ids=["vetted fragment", "metric"],
)
def test_the_property_catches_a_reuse_rule_that_ignores_the_declared_columns(
    texts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second contract lacks a column the first declared: a cache that reused the
    answer anyway would call it clean. The property above must see that."""
    monkeypatch.setenv("DQGATE_CACHE_DIR", str(tmp_path))
    _same_answers(texts, str(tmp_path))  # the real rule: a fresh vet says "unknown column"
    monkeypatch.setattr(sql_cache, "usable", lambda read, columns: True)
    with pytest.raises((AssertionError, KeyError)):  # a wrong answer, or a crash on the reused one
        _same_answers(texts, str(tmp_path / "broken"))


def test_the_references_are_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A subquery over `lookup` vetted for a contract declaring it is refused for one
    that does not: the first answer is on disk, the second is not taken from it."""
    monkeypatch.setenv("DQGATE_CACHE_DIR", str(tmp_path))
    check = ("expect", "a > 0 AND (SELECT count(*) FROM lookup) > 1", None)
    texts = [_contract({"a": "int64"}, ["lookup"], [check]), _contract({"a": "int64"}, ["other"], [check])]
    _same_answers(texts, str(tmp_path))
    assert _answer(texts[1])[0] == "problems"


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / "sql").iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("damage", ["truncated", "flipped", "swapped", "garbage"])
def test_a_damaged_entry_is_ignored(damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DQGATE_CACHE_DIR", str(tmp_path))
    text = _contract({"a": "int64", "b": "float64", "c": "string"}, [], [
        ("expect", "a + b > 0", "c IS NOT NULL"), ("metric", "mean(b)", None), ("metric", "sum(a) / count(*)", None),
    ])  # fmt: skip
    want = _answer(text)
    assert want[0] == "ok" and len(_entries(tmp_path)) == 5  # 3 fragments, 2 metrics
    entries = _entries(tmp_path)
    blobs = [p.read_bytes() for p in entries]
    for i, path in enumerate(entries):
        blob = blobs[i]
        if damage == "truncated":
            path.write_bytes(blob[: len(blob) // 2])
        elif damage == "flipped":  # one bit of the SQL text: the checksum no longer holds
            path.write_bytes(blob[:-3] + bytes([blob[-3] ^ 1]) + blob[-2:])
        elif damage == "swapped":  # a whole, valid entry of another key
            path.write_bytes(blobs[(i + 1) % len(blobs)])
        else:
            path.write_bytes(os.urandom(len(blob)))
    assert _answer(text) == want
    assert [p.read_bytes() for p in _entries(tmp_path)] == blobs  # found wanting, written anew


def test_a_kept_answer_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache answers (no vetting) when it can: an entry changed by hand, checksum
    and all, is what the lint returns, which shows the lookup comes before sqlglot."""
    monkeypatch.setenv("DQGATE_CACHE_DIR", str(tmp_path))
    text = _contract({"a": "int64"}, [], [("expect", "a > 0", None)])
    assert _answer(text)[1][("checks", 0, "expect")].sql == '"a" > 0'
    sql_cache._write(("vet", "a > 0", False, ()), ('"a" > 1', ("a",), False))
    assert _answer(text)[1][("checks", 0, "expect")].sql == '"a" > 1'
    monkeypatch.setenv("DQGATE_CACHE", "0")
    assert cache_folder("sql") is None
    assert _answer(text)[1][("checks", 0, "expect")].sql == '"a" > 0'
