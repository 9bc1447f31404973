"""Breaking-change classification between two contract revisions, and reading the old one from git."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from dqgate.contract import load_contract, parse_contract
from dqgate.contract.compat import Change, compare, compare_with_revision
from dqgate.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from dqgate.contract import Contract

BASE = """\
dataset: flights
version: 1.4.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    month: {type: int32, range: {min: 1, max: 12}}
    delay: {type: float32}
    carrier: {type: string, in: [AA, B6, DL]}
    tailnum: {type: string, pattern: '^N[0-9]+$', mostly: 0.9}
    code: {type: string, length: {min: 2, max: 4}}
    email: {type: string}
    dest: {type: string}
    loaded_at: {type: timestamp, freshness: {max_age: 36h}}
checks:
  - name: sane_delay
    expect: "delay > -100"
    severity: warn
  - metric: mean(delay)
    between: [0, 30]
references:
  airports: data/airports.parquet
"""
DRIFT = "drift:\n  columns:\n    delay: {method: psi, max: 0.2}\n"

# (anchor in BASE, the old revision's text for it, the new revision's text for it, kind, subject)
BREAKING = {
    "column removed": ("    dest: {type: string}\n", None, "", "column_removed", "dest"),
    "required column added": ("    dest: {type: string}\n", None, "    dest: {type: string}\n    gate: {type: string, required: true}\n", "column_added", "gate"),
    "int narrowed": ("month: {type: int32", None, "month: {type: int16", "type_changed", "month"),
    "float to int": ("delay: {type: float32}", None, "delay: {type: int64}", "type_changed", "delay"),
    "string to int": ("email: {type: string}", None, "email: {type: int64}", "type_changed", "email"),
    "required added": ("email: {type: string}", None, "email: {type: string, required: true}", "rule_added", "email.required"),
    "unique added": ("email: {type: string}", None, "email: {type: string, unique: true}", "rule_added", "email.unique"),
    "min raised": ("range: {min: 1, max: 12}", None, "range: {min: 2, max: 12}", "rule_tightened", "month.range"),
    "max lowered": ("range: {min: 1, max: 12}", None, "range: {min: 1, max: 11}", "rule_tightened", "month.range"),
    "exclusive added": ("range: {min: 1, max: 12}", None, "range: {min: 1, max: 12, exclusive: true}", "rule_tightened", "month.range"),
    "bound added": ("range: {min: 1, max: 12}", "range: {min: 1}", "range: {min: 1, max: 12}", "rule_tightened", "month.range"),
    "in shrunk": ("in: [AA, B6, DL]", None, "in: [AA, DL]", "rule_tightened", "carrier.in"),
    "in swapped": ("in: [AA, B6, DL]", None, "in: [AA, B6, UA]", "rule_tightened", "carrier.in"),
    "pattern changed": ("'^N[0-9]+$'", None, "'^N[0-9]{1,5}$'", "rule_changed", "tailnum.pattern"),
    "length tightened": ("length: {min: 2, max: 4}", None, "length: {min: 2, max: 3}", "rule_tightened", "code.length"),
    "format added": ("email: {type: string}", None, "email: {type: string, format: email}", "rule_added", "email.format"),
    "format changed": ("email: {type: string}", "email: {type: string, format: email}", "email: {type: string, format: uuid}", "rule_changed", "email.format"),
    "references added": ("dest: {type: string}", None, "dest: {type: string, references: airports.faa}", "rule_added", "dest.references"),
    "strict turned on": ("schema:\n  columns:", None, "schema:\n  strict: true\n  columns:", "rule_added", "schema.strict"),
    "error expect added": ("checks:\n", None, 'checks:\n  - expect: "month <= 12"\n', "rule_added", "checks[0].expect"),
    "error metric added": ("checks:\n", None, "checks:\n  - metric: row_count\n    min: 1\n", "rule_added", "row_count"),
    "severity raised": ("    severity: warn\n", None, "    severity: error\n", "severity_raised", "sane_delay"),
    "mostly raised": ("mostly: 0.9", None, "mostly: 0.95", "mostly_raised", "tailnum.pattern"),
    "metric bounds tightened": ("between: [0, 30]", None, "between: [0, 20]", "rule_tightened", "mean(delay)"),
    "freshness tightened": ("max_age: 36h", None, "max_age: 1d", "rule_tightened", "loaded_at.freshness"),
    "dataset renamed": ("dataset: flights", None, "dataset: departures", "dataset_renamed", "departures"),
    "composite key added": ("schema:\n  columns:", None, "schema:\n  unique: [[carrier, dest]]\n  columns:", "rule_added", "carrier+dest.unique"),
    "drift tightened": ("references:\n", DRIFT + "references:\n", DRIFT.replace("max: 0.2", "max: 0.1") + "references:\n", "rule_tightened", "drift.delay"),
    "where removed": ("between: [0, 30]", 'between: [0, 30]\n    where: "month > 1"', "between: [0, 30]", "where_removed", "mean(delay)"),
}  # fmt: skip

NON_BREAKING = {
    "optional column added": ("    dest: {type: string}\n", None, "    dest: {type: string}\n    gate: {type: string}\n", "column_added", "gate"),
    "int widened": ("month: {type: int32", None, "month: {type: int64", "type_changed", "month"),
    "float widened": ("delay: {type: float32}", None, "delay: {type: float64}", "type_changed", "delay"),
    "int to float64": ("month: {type: int32", None, "month: {type: float64", "type_changed", "month"),
    "range loosened": ("range: {min: 1, max: 12}", None, "range: {min: 0, max: 12}", "rule_loosened", "month.range"),
    "bound dropped": ("range: {min: 1, max: 12}", None, "range: {min: 1}", "rule_loosened", "month.range"),
    "range removed": ("month: {type: int32, range: {min: 1, max: 12}}", None, "month: {type: int32}", "rule_removed", "month.range"),
    "in grown": ("in: [AA, B6, DL]", None, "in: [AA, B6, DL, UA]", "rule_loosened", "carrier.in"),
    "pattern removed": ("tailnum: {type: string, pattern: '^N[0-9]+$', mostly: 0.9}", None, "tailnum: {type: string}", "rule_removed", "tailnum.pattern"),
    "required removed": ("id: {type: int64, required: true, unique: true}", None, "id: {type: int64, unique: true}", "rule_removed", "id.required"),
    "severity lowered": ("between: [0, 30]", None, "between: [0, 30]\n    severity: warn", "severity_lowered", "mean(delay)"),
    "mostly lowered": ("mostly: 0.9", None, "mostly: 0.8", "mostly_lowered", "tailnum.pattern"),
    "metric bounds loosened": ("between: [0, 30]", None, "between: [-5, 40]", "rule_loosened", "mean(delay)"),
    "warn expect added": ("checks:\n", None, 'checks:\n  - expect: "month <= 12"\n    severity: warn\n', "rule_added", "checks[0].expect"),
    "warn rule tightened": ('expect: "delay > -100"', None, 'expect: "delay > -50"', "rule_changed", "sane_delay"),
    "check removed": ("  - metric: mean(delay)\n    between: [0, 30]\n", None, "", "rule_removed", "mean(delay)"),
    "freshness loosened": ("max_age: 36h", None, "max_age: 2d", "rule_loosened", "loaded_at.freshness"),
    "drift loosened": ("references:\n", DRIFT + "references:\n", DRIFT.replace("max: 0.2", "max: 0.3") + "references:\n", "rule_loosened", "drift.delay"),
    "drift removed": ("references:\n", DRIFT + "references:\n", "references:\n", "rule_removed", "drift.delay"),
    "where added": ("between: [0, 30]", None, 'between: [0, 30]\n    where: "month > 1"', "where_added", "mean(delay)"),
}  # fmt: skip


def revisions(anchor: str, old: str | None, new: str, *, version: str | None = None) -> tuple[str, str]:
    assert anchor in BASE, anchor
    old_text = BASE.replace(anchor, anchor if old is None else old)
    new_text = BASE.replace(anchor, new)
    if version is not None:
        new_text = new_text.replace("version: 1.4.0", f"version: {version}")
    return old_text, new_text


def diff(old_text: str, new_text: str) -> list[Change]:
    return compare(parse_contract(old_text, "old.yaml"), parse_contract(new_text, "new.yaml"))


@pytest.mark.parametrize("case", list(BREAKING))
def test_breaking_change_is_detected_and_fails(case: str) -> None:
    anchor, old, new, kind, subject = BREAKING[case]
    changes = diff(*revisions(anchor, old, new))
    assert [(c.kind, c.subject, c.breaking, c.fails) for c in changes] == [(kind, subject, True, 1)]
    assert ": BREAKING: " in changes[0].describe()
    assert changes[0].span.file == "new.yaml"


@pytest.mark.parametrize("case", list(NON_BREAKING))
def test_non_breaking_change_is_reported_but_passes(case: str) -> None:
    anchor, old, new, kind, subject = NON_BREAKING[case]
    changes = diff(*revisions(anchor, old, new))
    assert [(c.kind, c.subject, c.breaking, c.fails) for c in changes] == [(kind, subject, False, 0)]
    assert ": change: " in changes[0].describe()


@pytest.mark.parametrize("case", ["column removed", "int narrowed", "severity raised", "in shrunk"])
def test_major_version_bump_allows_a_breaking_change(case: str) -> None:
    anchor, old, new, _, _ = BREAKING[case]
    [change] = diff(*revisions(anchor, old, new, version="2.0.0"))
    assert change.breaking and change.fails == 0
    assert change.describe().endswith("(allowed: major version raised 1 -> 2)")
    [minor] = diff(*revisions(anchor, old, new, version="1.9.0"))
    assert minor.fails == 1 and "allowed" not in minor.describe()


def test_describe_points_into_the_new_file() -> None:
    old, new = revisions("    dest: {type: string}\n", None, "")
    new = new.replace("range: {min: 1, max: 12}", "range: {min: 1, max: 10}")
    removed, tightened = diff(old, new)
    # the removed column points at its surviving parent, `columns:` on line 4
    assert removed.describe() == "new.yaml:4:3: BREAKING: column 'dest' removed"
    assert tightened.describe() == "new.yaml:6:26: BREAKING: rule 'month.range' tightened: {min: 1, max: 12} -> {min: 1, max: 10}"
    assert (tightened.before, tightened.after) == ({"min": 1, "max": 12}, {"min": 1, "max": 10})


def test_set_change_names_what_went_and_came() -> None:
    [swapped] = diff(*revisions("in: [AA, B6, DL]", None, "in: [AA, UA, B6, ZZ]"))
    assert swapped.describe().endswith("BREAKING: rule 'carrier.in' set shrunk: removed ['DL'], added ['UA', 'ZZ']")
    [grown] = diff(*revisions("in: [AA, B6, DL]", None, "in: [AA, B6, DL, UA]"))
    assert grown.describe().endswith("change: rule 'carrier.in' set grown: added ['UA']")


def test_added_column_is_one_change_not_also_a_rule() -> None:
    old, new = revisions("    dest: {type: string}\n", None, "    dest: {type: string}\n    gate: {type: string, required: true, in: [A, B]}\n")
    changes = diff(old, new)
    assert [(c.kind, c.subject) for c in changes] == [("column_added", "gate"), ("rule_added", "gate.in")]
    assert changes[0].describe().endswith("column 'gate' added (required)")


def test_removed_column_does_not_also_report_its_rules() -> None:
    old, new = revisions("month: {type: int32, range: {min: 1, max: 12}}", None, "other: {type: int32}")
    assert [(c.kind, c.subject) for c in diff(old, new)] == [("column_removed", "month"), ("column_added", "other")]


def test_reordering_and_reformatting_are_not_changes() -> None:
    old = BASE
    checks_a = '  - name: sane_delay\n    expect: "delay > -100"\n    severity: warn\n'
    checks_b = "  - metric: mean(delay)\n    between: [0, 30]\n"
    assert checks_a + checks_b in old
    new = old.replace(checks_a + checks_b, checks_b + checks_a.replace("delay > -100", "delay   >   -100"))
    new = new.replace("in: [AA, B6, DL]", "in: [DL, AA, B6]")
    assert diff(old, new) == []


def test_unnamed_expect_is_matched_by_its_sql() -> None:
    old = BASE.replace("checks:\n", 'checks:\n  - expect: "month <= 12"\n')
    new = BASE.replace("checks:\n", 'checks:\n  - metric: row_count\n    severity: warn\n    min: 1\n  - expect: "month <= 12"\n')
    assert [(c.kind, c.subject, c.breaking) for c in diff(old, new)] == [("rule_added", "row_count", False)]


def git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one commit holding contracts/flights.yaml = BASE."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "repo"
    (root / "contracts").mkdir(parents=True)
    (root / "contracts" / "flights.yaml").write_text(BASE)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "v1")
    return root


def load(path: Path) -> Contract:
    return load_contract(str(path))


def test_compare_with_revision_reads_the_file_at_rev(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = repo / "contracts" / "flights.yaml"
    path.write_text(BASE.replace("    dest: {type: string}\n", ""))
    monkeypatch.chdir(repo / "contracts")  # a relative path from a subfolder of the repository
    [change] = compare_with_revision(load(path), "HEAD")
    assert (change.kind, change.subject, change.fails) == ("column_removed", "dest", 1)
    [relative] = compare_with_revision(load_contract("flights.yaml"), "HEAD")
    assert relative.describe().startswith("flights.yaml:")
    assert compare_with_revision(load_contract("flights.yaml"), git(repo, "rev-parse", "HEAD").strip()) == [relative]


def test_file_new_since_rev_has_no_changes(repo: Path) -> None:
    new = repo / "contracts" / "new.yaml"
    new.write_text(BASE.replace("dataset: flights", "dataset: other"))
    assert compare_with_revision(load(new), "HEAD") == []


def test_unknown_revision_is_a_usage_error(repo: Path) -> None:
    with pytest.raises(UsageError, match="unknown git revision 'no-such-branch'"):
        compare_with_revision(load(repo / "contracts" / "flights.yaml"), "no-such-branch")
    with pytest.raises(UsageError, match="unknown git revision 'HEAD~5'"):
        compare_with_revision(load(repo / "contracts" / "flights.yaml"), "HEAD~5")


def test_outside_a_git_repository_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    path = tmp_path / "plain" / "flights.yaml"
    path.parent.mkdir()
    path.write_text(BASE)
    with pytest.raises(UsageError, match="not in a git repository") as info:
        compare_with_revision(load(path), "HEAD")
    assert "\n" not in str(info.value)


def test_first_commit_has_nothing_to_compare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    git(tmp_path, "init", "-q")
    path = tmp_path / "flights.yaml"
    path.write_text(BASE)
    assert compare_with_revision(load(path), "HEAD") == []
    with pytest.raises(UsageError, match="unknown git revision 'main~1'"):
        compare_with_revision(load(path), "main~1")


def test_invalid_old_revision_is_a_note_not_a_failure(repo: Path) -> None:
    path = repo / "contracts" / "flights.yaml"
    path.write_text(BASE.replace("{type: int32, range", "{type: int32, rnage"))
    git(repo, "commit", "-q", "-am", "broken")
    path.write_text(BASE)
    [change] = compare_with_revision(load(path), "HEAD")
    assert (change.kind, change.breaking, change.fails) == ("old_invalid", False, 0)
    assert "cannot compare with HEAD" in change.describe() and "unknown rule 'rnage'" in change.describe()
