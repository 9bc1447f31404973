"""`dq lint [--only-contracts] PATHS...` is answered before click is imported
(cli/lint_run.py's ``attempt``, from the console script's ``main``). It must print the
very lines, on the very streams, with the very exit code the click command gives, and
leave everything else (other options, missing paths, usage errors) to click."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dqgate

GOOD = """\
dataset: good
schema:
  columns:
    id: {type: int64, required: true}
    x: {type: float64, range: {min: 0, max: 10}}
checks:
  - expect: "x >= 0"
  - metric: mean(x)
    max: 5
"""
BAD = GOOD.replace("x >= 0", "lenght(x) > 1").replace("max: 10", "max: -1").replace("int64", "int46")

# Each run reports the modules it imported after its output, so the probe knows which path answered.
PROBE = (
    "import json, sys\n"
    "from dqgate.cli import main\n"
    "sys.argv = ['dq', *sys.argv[1:]]\n"
    "code = main(None if sys.argv[1] != '--click' else sys.argv[2:])\n"
    "sys.stdout.flush()\n"
    "sys.stderr.write('\\n@@' + json.dumps({'code': code, 'click': 'click' in sys.modules}))\n"
)


def _run(folder: Path, *args: str, click: bool) -> tuple[int, str, str, bool]:
    env = {**os.environ, "DQGATE_CACHE": "0", "PYTHONPATH": str(Path(dqgate.__file__).resolve().parents[1])}
    argv = ["--click", *args] if click else list(args)
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, cwd=folder, timeout=120, check=False)
    err, _, tail = done.stderr.rpartition("\n@@")
    probe = json.loads(tail)
    return probe["code"], done.stdout, err, probe["click"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "ci.yaml").write_text("jobs:\n  test: {runs-on: ubuntu}\n", encoding="utf-8")
    (tmp_path / "latin1.yaml").write_bytes("dataset: caf\xe9\n".encode("latin-1"))
    (tmp_path / "broken.yaml").write_text("dataset: [unclosed\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nested.yml").write_text(BAD.replace("dataset: good", "dataset: nested"), encoding="utf-8")
    return tmp_path


FAST = [
    ("lint", "good.yaml"),
    ("lint", "bad.yaml", "good.yaml"),
    ("lint", "."),
    ("lint", "--only-contracts", "ci.yaml", "good.yaml", "bad.yaml"),
    ("lint", "ci.yaml", "--only-contracts"),
    ("lint", "ci.yaml"),
    ("lint", "latin1.yaml", "broken.yaml", "sub"),
]
CLICK = [
    ("lint", "missing.yaml"),
    ("lint",),
    ("lint", "--only-contracts"),
    ("lint", "--only-contracts", "--only-contracts", "good.yaml"),
    ("lint", "--bogus", "good.yaml"),
    ("lint", "--help"),
    ("lint", "--", "good.yaml"),
    ("lint", "--against", "HEAD", "good.yaml"),
]


@pytest.mark.parametrize("args", FAST, ids=" ".join)
def test_the_plain_form_answers_without_click_exactly_as_click_does(folder: Path, args: tuple[str, ...]) -> None:
    fast = _run(folder, *args, click=False)
    slow = _run(folder, *args, click=True)
    assert fast[3] is False and slow[3] is True  # which path answered
    assert fast[:3] == slow[:3]
    assert fast[0] in (0, 1)


@pytest.mark.parametrize("args", CLICK, ids=" ".join)
def test_anything_else_is_left_to_click(folder: Path, args: tuple[str, ...]) -> None:
    fast = _run(folder, *args, click=False)
    slow = _run(folder, *args, click=True)
    assert fast[3] is True  # the attempt gave up before writing anything
    assert fast[:3] == slow[:3]


def test_the_lines_are_the_problems(folder: Path) -> None:
    code, out, err, _ = _run(folder, "lint", "bad.yaml", "good.yaml", click=False)
    assert code == 1
    assert "bad.yaml:4:10: 'int46' is not a valid type" in out and "Did you mean 'length'" in out
    assert err.strip() == "dq lint: 2 contract(s), 3 problems"


def _git(folder: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, env=env)


@pytest.mark.parametrize("args", [
    ("lint", "--only-contracts", "--against", "HEAD", "good.yaml", "ci.yaml", "new.yaml"),
    ("lint", "--against=HEAD", "good.yaml"),
    ("lint", "good.yaml", "--against", "HEAD~1"),
], ids=" ".join)  # fmt: skip
def test_against_a_revision_answers_without_click_as_click_does(folder: Path, args: tuple[str, ...]) -> None:
    """The pre-commit hook's own command: changes since the last commit, breaking ones
    failing, with the contract at HEAD and the edited one both built without pydantic."""
    _git(folder, "init", "-q")
    _git(folder, "add", "good.yaml", "ci.yaml")
    _git(folder, "commit", "-qm", "one")
    (folder / "good.yaml").write_text(GOOD.replace("max: 10", "max: 8").replace("max: 5", "max: 6"), encoding="utf-8")
    _git(folder, "commit", "-qam", "two")
    (folder / "good.yaml").write_text(GOOD.replace("max: 10", "max: 9") + "    name: mean_x\n", encoding="utf-8")
    (folder / "new.yaml").write_text(GOOD.replace("dataset: good", "dataset: new"), encoding="utf-8")
    fast = _run(folder, *args, click=False)
    slow = _run(folder, *args, click=True)
    assert fast[3] is False and slow[3] is True
    assert fast[:3] == slow[:3]
    assert fast[0] == 1 and "breaking" in fast[2]  # the range narrowed since HEAD~1 or HEAD: a breaking change
