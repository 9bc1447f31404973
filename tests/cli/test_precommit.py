"""The `dq-lint` hook of `.pre-commit-hooks.yaml`, installed and run by the real pre-commit tool.

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
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

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
    return snapshot, git(snapshot, "rev-parse", "HEAD").strip()


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


def contracts_repo(base: Path, hook: tuple[Path, str], args: list[str] | None = None) -> Path:
    """A repository with a good and a bad contract, a YAML file that is no contract, and the hook configured."""
    repo = base / "contracts-repo"
    (repo / "contracts").mkdir(parents=True)
    (repo / "contracts" / "good.yaml").write_text(GOOD)
    (repo / "contracts" / "bad.yaml").write_text(BAD)
    (repo / "ci.yaml").write_text("jobs: {test: {runs-on: ubuntu}}\n")  # would fail `dq lint`, so it must not be passed
    extra = f"\n    args: [{', '.join(args)}]" if args else ""
    (repo / ".pre-commit-config.yaml").write_text(f"repos:\n- repo: {hook[0]}\n  rev: {hook[1]}\n  hooks:\n  - id: dq-lint{extra}\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    return repo


def test_hook_passes_a_good_contract_and_fails_a_bad_one(tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str]) -> None:
    repo = contracts_repo(tmp_path, hook_repo)
    good = pre_commit(repo, env, "run", "dq-lint", "--files", "contracts/good.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "dq lint (data contracts)" in good.stdout and "Passed" in good.stdout

    bad = pre_commit(repo, env, "run", "dq-lint", "--files", "contracts/bad.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "contracts/bad.yaml:6:29: unknown rule 'inn' for column 'carrier'. Did you mean 'in'?" in bad.stdout
    assert any(line.startswith("contracts/bad.yaml:10:") and "impossible bounds" in line for line in bad.stdout.splitlines())

    every = pre_commit(repo, env, "run", "dq-lint", "--all-files")
    assert every.returncode == 1
    assert "ci.yaml" not in every.stdout and "good.yaml" not in every.stdout  # only contract files are linted, and only bad ones print
    skipped = pre_commit(repo, env, "run", "dq-lint", "--files", "ci.yaml", ".pre-commit-config.yaml")
    assert skipped.returncode == 0 and "(no files to check)Skipped" in skipped.stdout


def test_commit_hook_blocks_a_breaking_change_until_the_major_version_is_raised(
    tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str]
) -> None:
    repo = contracts_repo(tmp_path, hook_repo, ["--against", "HEAD"])
    (repo / "contracts" / "bad.yaml").unlink()
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
