"""contract/load.py: YAML text -> values with a position for every key and value."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dqgate.contract.load import MAX_NODES, load_file, load_text
from dqgate.errors import ContractError
from dqgate.span import Span

TEXT = """\
dataset: flights
schema:
  columns:
    tailnum: {type: string, pattern: '^N'}
    month:
      type: int64
      range: {min: 1, max: 12}
checks:
  - metric: row_count
    min: 10
"""


def test_every_key_and_value_has_its_line_and_column() -> None:
    doc = load_text(TEXT, "f.yaml")
    assert doc.value["schema"]["columns"]["month"]["range"] == {"min": 1, "max": 12}
    assert doc.key_spans[("schema", "columns", "tailnum")] == Span("f.yaml", 4, 5)
    assert doc.key_spans[("schema", "columns", "tailnum", "pattern")] == Span("f.yaml", 4, 29)
    assert doc.value_spans[("schema", "columns", "tailnum", "pattern")] == Span("f.yaml", 4, 38)
    assert doc.key_spans[("schema", "columns", "month", "range", "max")] == Span("f.yaml", 7, 23)
    assert doc.value_spans[("checks", 0)] == Span("f.yaml", 9, 5)
    assert doc.key_spans[("checks", 0, "min")] == Span("f.yaml", 10, 5)
    assert doc.text == TEXT


def test_a_span_falls_back_to_the_nearest_known_parent() -> None:
    doc = load_text(TEXT, "f.yaml")
    assert doc.span(("schema", "columns", "month", "range", "nope")) == Span("f.yaml", 7, 7)
    assert doc.span(("nothing", "here")) == Span("f.yaml", 1, 1)
    assert str(Span("f.yaml", 3, 0)) == "f.yaml:3" and str(Span("f.yaml", 3, 9)) == "f.yaml:3:9"


def test_booleans_follow_yaml_1_2() -> None:
    doc = load_text("in: [NO, SE, yes, off, On, true, False]\n")
    assert doc.value["in"] == ["NO", "SE", "yes", "off", "On", True, False]


def test_a_repeated_key_is_an_error_naming_both_places() -> None:
    with pytest.raises(ContractError) as info:
        load_text("dataset: a\nowner: me\ndataset: b\n", "f.yaml")
    assert str(info.value) == "f.yaml:3:1: duplicate key 'dataset' (first given at line 1)"
    assert info.value.key == "dataset"


def test_a_repeated_key_is_an_error_in_nested_flow_mappings() -> None:
    with pytest.raises(ContractError, match=r"f.yaml:1:25: duplicate key 'min'"):
        load_text("range: {min: 1, max: 2, min: 3}\n", "f.yaml")


def test_merge_keys_share_specs_and_written_keys_override_merged_ones() -> None:
    doc = load_text(
        "money: &money {type: float64, range: {min: 0}}\n"
        "extra: &extra {type: int64, required: true}\n"
        "price: {<<: *money, required: true}\n"
        "fee: {<<: *money, range: {min: 1}}\n"
        "both: {<<: [*money, *extra]}\n"
    )
    assert doc.value["price"] == {"type": "float64", "range": {"min": 0}, "required": True}
    assert doc.value["fee"] == {"type": "float64", "range": {"min": 1}}
    assert doc.value["both"] == {"type": "float64", "range": {"min": 0}, "required": True}  # the first merged mapping wins


def test_a_key_written_twice_beside_a_merge_is_still_an_error() -> None:
    with pytest.raises(ContractError, match="duplicate key 'y'"):
        load_text("a: &a {x: 1}\nb: {<<: *a, y: 1, y: 2}\n")


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    layers = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    layers += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    started = time.perf_counter()
    with pytest.raises(ContractError, match="alias bomb"):
        load_text("\n".join(layers) + "\n", "bomb.yaml")
    assert time.perf_counter() - started < 0.5  # 10^12 values, refused without building them


def test_aliases_within_the_node_budget_expand() -> None:
    text = "v: &v [" + ", ".join(["1"] * 99) + "]\nall: [" + ", ".join(["*v"] * 90) + "]\n"
    doc = load_text(text)
    assert len(doc.value["all"]) == 90 and doc.value["all"][89] == [1] * 99 and 90 * 100 < MAX_NODES


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(ContractError, match="recursive alias"):
        load_text("a: &a [1, *a]\n")


def test_keys_must_be_plain_scalars() -> None:
    with pytest.raises(ContractError, match="keys must be plain scalars"):
        load_text("? [a, b]\n: 1\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\n", "<contract>:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>'"),
        ("a: 'open\n", "<contract>:2:1: YAML syntax error: found unexpected end of stream"),
        ("a: 1\n b: 2\n", "<contract>:2:3: YAML syntax error: mapping values are not allowed here"),
        ("", "<contract>:1:1: the contract is empty"),
        ("# only a comment\n", "<contract>:1:1: the contract is empty"),
    ],
)
def test_syntax_errors_say_where(text: str, expected: str) -> None:
    with pytest.raises(ContractError) as info:
        load_text(text)
    assert str(info.value).startswith(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!python/object/apply:os.system ['echo hi']\n", "1:4: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not supported"),
        ("a: !!python/name:os.system x\n", "1:4: YAML error: could not determine a constructor"),
        ("a: !custom {b: 1}\n", "1:4: YAML tag '!custom' is not supported"),
    ],
)
def test_unknown_tags_are_refused_not_constructed(text: str, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        load_text(text)


def test_files_that_cannot_be_read_are_contract_errors(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="contract file not found"):
        load_file(str(tmp_path / "missing.yaml"))
    with pytest.raises(ContractError, match="is a directory"):
        load_file(str(tmp_path))
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("dataset: h\xf6he\n".encode("latin-1"))
    with pytest.raises(ContractError, match=r"not UTF-8 text \(byte 10\)"):
        load_file(str(latin1))


def test_a_file_is_loaded_with_its_path_in_spans(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("dataset: höhe\n", encoding="utf-8")
    doc = load_file(str(path))
    assert doc.value == {"dataset": "höhe"}
    assert doc.span(("dataset",)) == Span(str(path), 1, 1)
