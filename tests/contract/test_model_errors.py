"""contract/model.py + contract/check.py: each invalid contract gets one exact, located message.

The message rules (STYLE.md 4.2, rule 6): location first, the subject in quotes, what
was expected, and a "did you mean" when a near miss exists.
"""

from __future__ import annotations

import pytest

from dqgate.contract import parse_contract
from dqgate.errors import ContractError

HEAD = "dataset: t\nschema:\n  columns:\n    a: {type: int64}\n    s: {type: string}\n    ts: {type: timestamp}\n"


def _a(spec: str) -> str:
    return HEAD.replace("{type: int64}", spec)


def _checks(body: str) -> str:
    return HEAD + "checks:\n" + body


CASES = {
    "mostly zero": (_a("{type: int64, required: true, mostly: 0}"), "c.yaml:4:38: 'mostly' must be greater than 0.0, not 0"),
    "severity": (_a("{type: int64, required: true, severity: fatal}"), "c.yaml:4:38: 'fatal' is not a valid severity (expected one of: error, warn)"),
    "gate": ("dataset: t\ngate: {on_failure: explode}\n", "c.yaml:2:8: 'explode' is not a valid on_failure (expected one of: quarantine_batch, quarantine_rows, fail)"),
    "flag not bool": (_a("{type: int64, required: maybe}"), "c.yaml:4:22: 'required' must be true or false, not 'maybe'"),
    "column not mapping": ("dataset: t\nschema:\n  columns:\n    a: int64\n", "c.yaml:4:5: column 'a' must be a mapping, not 'int64'"),
    "in empty": (_a("{type: int64, in: []}"), "c.yaml:4:22: 'in' needs at least 1 item(s), not 0"),
    "between three": (_checks("  - metric: row_count\n    between: [1, 2, 3]\n"), "c.yaml:9:5: 'between' takes exactly 2 values [min, max], not 3"),
    "two kinds": (_checks("  - expect: a > 1\n    metric: row_count\n"), "c.yaml:8:5: a check has one of 'expect', 'metric' or 'column', not expect and metric"),
    "no kind": (_checks("  - name: x\n    severity: warn\n"), "c.yaml:8:5: a check needs exactly one of 'expect', 'metric' or 'column'"),
    "kind typo": (_checks("  - metrc: row_count\n"), "c.yaml:8:5: a check needs exactly one of 'expect', 'metric' or 'column'. Did you mean 'metric'?"),
    "check not mapping": (_checks("  - a > 1\n"), "c.yaml:8:5: a check is a mapping with 'expect:', 'metric:' or 'column:'"),
    "duplicate name": (_checks("  - {name: x, expect: a > 1}\n  - {name: x, metric: row_count}\n"), "c.yaml:9:6: duplicate check name 'x'"),
    "mostly without rule": (_a("{type: int64, mostly: 0.5}"), "c.yaml:4:22: 'mostly' on 'a' has no rule to apply to"),
    "range without bounds": (_a("{type: int64, range: {exclusive: true}}"), "c.yaml:4:22: range on 'a' needs min or max"),
    "text bound on a number": (_a("{type: int64, range: {min: low}}"), "c.yaml:4:30: range min 'low' is not a number, but 'a' is int64"),
    "text in a number set": (_a("{type: int64, in: [1, two]}"), "c.yaml:4:22: 'in' value 'two' is not a number, but 'a' is int64"),
    "freshness on a number": (_a("{type: int64, freshness: {max_age: 1d}}"), "c.yaml:4:22: 'freshness' applies to timestamp or date columns, but 'a' is int64"),
    "format on a number": (_a("{type: int64, format: email}"), "c.yaml:4:22: 'format' applies to string columns, but 'a' is int64"),
    "length on a number": (_a("{type: int64, length: {max: 3}}"), "c.yaml:4:22: 'length' applies to string columns, but 'a' is int64"),
    "negative length": (_a("{type: string, length: {min: -1}}"), "c.yaml:4:32: 'min' must be at least 0, not -1"),
    "mixed bounds": (HEAD.replace("{type: timestamp}", "{type: timestamp, range: {min: 2024-01-01, max: 5}}"),
                     "c.yaml:6:27: range bounds 2024-01-01 and 5 are not comparable (use one kind of value for both)"),
    "null fraction above one": (_checks("  - metric: null_fraction(a)\n    max: 5\n"), "c.yaml:8:5: null_fraction is between 0 and 1; max 5 can never fail"),
    "quantile without q": (_checks("  - metric: quantile(a)\n"), "c.yaml:8:5: quantile takes a column and a number between 0 and 1, as in quantile(delay, 0.99)"),
    "quantile above one": (_checks("  - metric: quantile(a, 1.5)\n"), "c.yaml:8:5: quantile 1.5 is not between 0 and 1"),
    "metric two columns": (_checks("  - metric: mean(a, s)\n"), "c.yaml:8:5: metric 'mean' takes one column, got 2 arguments"),
    "min and between": (_checks("  - metric: row_count\n    min: 1\n    between: [1, 2]\n"), "c.yaml:8:5: give either min/max or between, not both"),
    "references without column": (_a("{type: int64, references: airports}") + "references: {airports: a.parquet}\n",
                                  "c.yaml:4:22: write references as DATASET.COLUMN, not 'airports'"),
    "nested key without a near miss": ("dataset: t\ngate: {on_failure: fail, colour: red}\n", "c.yaml:2:26: unknown key 'colour' in 'gate' (allowed: on_failure, publish)"),
    "dataset name": ("dataset: 'my data!'\n", "c.yaml:1:1: 'my data!' is not a valid dataset name (letters, digits, '_', '.', '-')"),
    "no dataset": ("schema: {}\n", "c.yaml:1:1: missing required key 'dataset'"),
    "not a mapping": ("- a\n- b\n", "c.yaml:1:1: a contract is a mapping with at least 'dataset:'"),
    "column check without a rule": (_checks("  - column: a\n    severity: warn\n"),
                                    "c.yaml:8:5: check on column 'a' names no rule (required, unique, range, in, pattern, length, format, references, freshness)"),
    "column check rule without a near miss": (_checks("  - column: a\n    zzz: 1\n"),
                                              "c.yaml:9:5: unknown rule 'zzz' for column 'a' (rules: required, unique, range, in, pattern, length, format, references, freshness)"),
    "empty unique key": (HEAD + "  unique: [[]]\n", "c.yaml:7:12: 'unique'[0] needs at least 1 item(s), not 0"),
    "checks not a list": ("dataset: t\nchecks: {a: 1}\n", "c.yaml:2:1: 'checks' must be a list, not {'a': 1}"),
    "schema not a mapping": ("dataset: t\nschema: [a]\n", "c.yaml:2:1: 'schema' must be a mapping, not ['a']"),
    "empty expect": (_checks("  - expect: ''\n"), "c.yaml:8:5: expect \"\": empty SQL expression"),
    "version as number": ("dataset: t\nversion: 1.0\n", "c.yaml:2:1: 'version' must be text (quote it), not 1.0"),
    "unknown key in a column, case typo": (_a("{type: int64, Required: true}"), "c.yaml:4:22: unknown rule 'Required' for column 'a'. Did you mean 'required'?"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_an_invalid_contract_gets_one_exact_message(name: str) -> None:
    text, message = CASES[name]
    with pytest.raises(ContractError) as info:
        parse_contract(text, "c.yaml")
    assert str(info.value) == message
    assert len(info.value.problems) == 1, info.value.problems


def test_a_valid_contract_with_every_part_parses() -> None:
    text = _a("{type: int64, required: true, unique: true, range: {min: 0, max: 9, exclusive: true}, mostly: 0.9, severity: warn}") + (
        "  unique: [[a, s]]\n  key: [a]\n"
        "checks:\n"
        "  - {column: s, name: s_ok, pattern: '^[a-z]+$', length: {max: 3}, in: [ab, cd], format: email, where: a > 0}\n"
        "  - {expect: 'a >= 0', where: 's IS NOT NULL', mostly: 0.5, name: nonneg}\n"
        "  - {metric: 'quantile(a, 0.99)', max: 300}\n"
        "  - {metric: \"count(*) FILTER (WHERE s = 'x')\", min: 1, name: has_x}\n"
        "gate: {on_failure: quarantine_rows, publish: replace}\n"
    )
    contract = parse_contract(text, "c.yaml")
    assert contract.dataset == "t" and contract.version == "0.1.0"
    assert contract.key_columns() == ("a",)
    assert [type(c).__name__ for c in contract.checks] == ["ColumnCheck", "ExpectCheck", "MetricCheck", "MetricCheck"]
    assert contract.fragments[("checks", 1, "expect")].sql == '"a" >= 0'
    assert contract.line_of(("checks", 2)) == 12
    assert len(contract.sha256) == 64


def test_problems_in_the_schema_do_not_hide_problems_in_the_checks() -> None:
    text = _a("{type: int46, patern: x}") + "checks:\n  - expect: zz > 1\n  - metric: meen(a)\n"
    with pytest.raises(ContractError) as info:
        parse_contract(text, "c.yaml")
    assert [p.split(": ", 1)[0] for p in info.value.problems] == ["c.yaml:4:9", "c.yaml:4:22", "c.yaml:8:5", "c.yaml:9:5"]
    assert "unknown column 'zz'" in info.value.problems[2] and "unknown metric 'meen'" in info.value.problems[3]


def test_a_broken_schema_section_stops_before_spurious_unknown_columns() -> None:
    with pytest.raises(ContractError) as info:
        parse_contract("dataset: t\nschema: [a]\nchecks:\n  - expect: a > 1\n", "c.yaml")
    assert info.value.problems == ("c.yaml:2:1: 'schema' must be a mapping, not ['a']",)


def test_an_empty_pattern_is_a_rule_not_a_missing_one() -> None:
    text = HEAD.replace("{type: string}", "{type: string, pattern: '', mostly: 0.5}") + "checks:\n  - {column: s, pattern: ''}\n"
    contract = parse_contract(text, "c.yaml")
    assert contract.columns["s"].pattern == "" and contract.checks[0].pattern == ""
