"""The `dq-lint` hook of `.pre-commit-hooks.yaml`, installed and run by the real pre-commit tool,
from the `.pre-commit-config.yaml` snippet of docs/pre-commit.md exactly as written there
(only its `repo:` URL is pointed at the test's copy of dqgate, tagged with the `rev:`
the snippet names, which must be this dqgate's version).

pre-commit installs hooks only from a git commit, so the session first snapshots
the working tree (tracked and untracked files, uncommitted edits included, ignored
files such as build products left out) into a temporary repository with one
commit. A contracts repository then names that snapshot in its
`.pre-commit-config.yaml`, as a user's would. `pre-commit try-repo` is not used:
it always builds its hook environment in a fresh temporary store, so every call
would reinstall dqgate; `pre-commit run` and a real `git commit` share one
`PRE_COMMIT_HOME` for the whole session, so the environment (pip installing
dqgate, which compiles the Cython kernels) is built once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dqgate

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "pre-commit.md"


def documented_config() -> str:
    """The first ```yaml block of docs/pre-commit.md: the configuration users copy."""
    found = re.search(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert found, f"{DOC} has no yaml block"
    return found.group(1)


def test_the_documented_rev_is_this_release() -> None:
    rev = re.search(r"^\s*rev:\s*(\S+)\s*$", documented_config(), re.MULTILINE)
    assert rev and rev.group(1) == f"v{dqgate.__version__}"  # the tag a release of this version carries

GOOD = """\
dataset: flights
version: 1.0.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    carrier: {type: string, in: [AA, B6, DL]}
    dest: {type: string}
checks:
  - metric: row_count
    min: 1
"""
BAD = GOOD.replace("in: [AA", "inn: [AA").replace("min: 1\n", "min: 1\n    max: 0\n")


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A one-commit git snapshot of the dqgate working tree, and that commit."""
    snapshot = tmp_path_factory.mktemp("dqgate-hook-repo")
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True, text=True,
    ).stdout.split("\0")  # fmt: skip
    for rel in listed:
        source = ROOT / rel
        if rel and source.is_file():  # a file deleted but not yet staged is listed too
            (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / rel)
    assert (snapshot / ".pre-commit-hooks.yaml").is_file() and (snapshot / "setup.py").is_file()
    git(snapshot, "init", "-q")
    git(snapshot, "add", "-A")
    git(snapshot, "commit", "-q", "-m", "snapshot")
    rev = re.search(r"^\s*rev:\s*(\S+)\s*$", documented_config(), re.MULTILINE)
    assert rev is not None
    git(snapshot, "tag", rev.group(1))  # the release tag the snippet names
    return snapshot, rev.group(1)


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One pre-commit store per session, so the hook environment is built once.

    ``CFLAGS`` only lowers the C optimisation level of the kernels built into the hook's
    virtualenv (`dq lint` never runs them), and pip skips byte-compiling the wheels it
    installs; together they roughly halve the install time.
    """
    home = tmp_path_factory.mktemp("pre-commit-home")
    names = {"GIT_AUTHOR_NAME": "t", "GIT_COMMITTER_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_EMAIL": "t@example.com"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # e.g. GIT_DIR when run from a git hook
    return {**clean, **names, "PRE_COMMIT_HOME": str(home), "CFLAGS": "-O0 -g0", "PIP_NO_COMPILE": "1", "GIT_CEILING_DIRECTORIES": str(home.parent)}


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def pre_commit(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def contracts_repo(base: Path, hook: tuple[Path, str]) -> Path:
    """A repository with a good and a bad contract (one outside any `contracts/` folder), a
    YAML file that is no contract, and the hook configured as docs/pre-commit.md says."""
    repo = base / "contracts-repo"
    (repo / "contracts").mkdir(parents=True)
    (repo / "contracts" / "good.yaml").write_text(GOOD)
    (repo / "teams" / "ml").mkdir(parents=True)
    (repo / "teams" / "ml" / "bad.yaml").write_text(BAD)  # found by content, wherever it lives
    (repo / "ci.yaml").write_text("jobs: {test: {runs-on: ubuntu}}\n")  # would fail `dq lint`, so it must be skipped
    config = re.sub(r"(repo:\s*)\S+", lambda m: m.group(1) + str(hook[0]), documented_config(), count=1)
    assert config.count(str(hook[0])) == 1 and f"rev: {hook[1]}" in config
    (repo / ".pre-commit-config.yaml").write_text(config)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    return repo


def test_hook_passes_a_good_contract_and_fails_a_bad_one(tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str]) -> None:
    repo = contracts_repo(tmp_path, hook_repo)
    good = pre_commit(repo, env, "run", "dq-lint", "--files", "contracts/good.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "dq lint (data contracts)" in good.stdout and "Passed" in good.stdout

    bad = pre_commit(repo, env, "run", "dq-lint", "--files", "teams/ml/bad.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "teams/ml/bad.yaml:6:29: unknown rule 'inn' for column 'carrier'. Did you mean 'in'?" in bad.stdout
    assert any(line.startswith("teams/ml/bad.yaml:10:") and "impossible bounds" in line for line in bad.stdout.splitlines())

    every = pre_commit(repo, env, "run", "dq-lint", "--all-files")
    assert every.returncode == 1
    assert "ci.yaml" not in every.stdout and "good.yaml" not in every.stdout  # only contracts are linted, and only bad ones print
    assert "dq lint: 2 contract(s), 2 problems" in every.stdout
    skipped = pre_commit(repo, env, "run", "dq-lint", "--files", "ci.yaml", ".pre-commit-config.yaml")
    assert skipped.returncode == 0 and "Passed" in skipped.stdout, skipped.stdout  # YAML that is no contract: skipped


def test_commit_hook_blocks_a_breaking_change_until_the_major_version_is_raised(
    tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str]
) -> None:
    """With the documented configuration as it is: no `args:` needed to block a breaking change."""
    repo = contracts_repo(tmp_path, hook_repo)
    (repo / "teams" / "ml" / "bad.yaml").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "contracts")  # before the hook is installed
    installed = pre_commit(repo, env, "install")
    assert installed.returncode == 0, installed.stderr

    good = repo / "contracts" / "good.yaml"
    good.write_text(GOOD.replace("    dest: {type: string}\n", ""))
    git(repo, "add", "-A")
    blocked = subprocess.run(["git", "commit", "-m", "drop dest"], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "contracts/good.yaml:4:3: BREAKING: column 'dest' removed" in blocked.stdout + blocked.stderr

    good.write_text(GOOD.replace("    dest: {type: string}\n", "").replace("version: 1.0.0", "version: 2.0.0"))
    git(repo, "add", "-A")
    allowed = subprocess.run(["git", "commit", "-m", "drop dest, v2"], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == "drop dest, v2"
