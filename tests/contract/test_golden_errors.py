"""Bad contracts and the exact messages they produce, as golden files.

``tests/golden/errors/NAME.yaml`` is a broken contract; ``NAME.txt`` holds every
problem it reports, one per line, in line order: the first line is the one-line
message the CLI shows, with ``file:line:col`` first. Any change to a message shows
up here as a diff. After a deliberate change, regenerate with
``DQGATE_UPDATE_GOLDEN=1 pytest tests/contract/test_golden_errors.py`` and review.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dqgate.contract import load_contract
from dqgate.errors import ContractError

ERRORS = Path(__file__).resolve().parents[1] / "golden" / "errors"
CASES = sorted(p.stem for p in ERRORS.glob("*.yaml"))
UPDATE = os.environ.get("DQGATE_UPDATE_GOLDEN") == "1"


def _problems(name: str, monkeypatch: pytest.MonkeyPatch) -> ContractError:
    monkeypatch.chdir(ERRORS)  # messages name the file as given: "NAME.yaml:line:col: ..."
    with pytest.raises(ContractError) as info:
        load_contract(f"{name}.yaml")
    return info.value


@pytest.mark.parametrize("name", CASES)
def test_bad_contract_gives_its_golden_message(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    exc = _problems(name, monkeypatch)
    golden = ERRORS / f"{name}.txt"
    if UPDATE:
        golden.write_text("\n".join(exc.problems) + "\n", encoding="utf-8")
    lines = golden.read_text(encoding="utf-8").splitlines()
    assert list(exc.problems) == lines
    assert str(exc) == lines[0]
    assert lines[0].startswith(f"{name}.yaml:")  # location first
    assert "\n" not in str(exc)


def test_every_golden_case_has_its_message_file() -> None:
    assert len(CASES) >= 40
    assert sorted(p.stem for p in ERRORS.glob("*.txt")) == CASES


def test_the_alias_bomb_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.perf_counter()
    exc = _problems("alias_bomb", monkeypatch)
    assert time.perf_counter() - started < 2.0
    assert "alias bomb" in str(exc)


def test_several_problems_are_all_reported_in_line_order(monkeypatch: pytest.MonkeyPatch) -> None:
    exc = _problems("many_problems", monkeypatch)
    lines = [int(p.split(":")[1]) for p in exc.problems]
    assert lines == sorted(lines)
    # a problem in the schema does not hide the problems in the checks
    assert len(exc.problems) == 7
    assert any("'patern'" in p for p in exc.problems) and any("'arr_delay'" in p for p in exc.problems)
