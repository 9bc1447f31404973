"""What `dq lint` does, without click: find the contracts among the paths given, lint
each (answering from the lint cache when the very text linted clean before), print the
problems and a summary, return the exit code.

``cli/lint.py`` (the click command) and :func:`attempt` (the console script's path
for ``dq lint [--only-contracts] [--against REV] PATHS...``, the pre-commit hook's
command, taken before click is imported, as
``cli/fastcheck.py`` does for `dq check`) both call :func:`lint_paths`, so the two print
the same lines and exit with the same codes.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Callable

from dqgate.errors import ContractError

# A contract is a YAML mapping with one of these top-level keys; other YAML (CI configs,
# docker-compose files, .pre-commit-config.yaml) has none of them.
_CONTRACT_KEY = re.compile(rb"^(dataset|schema|checks)[ \t]*:", re.MULTILINE)
_SKIPPED_FOLDERS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}

Echo = Callable[..., None]  # echo(line, err=False)


def is_contract(path: str) -> bool:
    """Whether the YAML file at ``path`` looks like a contract (by content, not by folder)."""
    try:
        with open(path, "rb") as fh:
            return _CONTRACT_KEY.search(fh.read(1 << 20)) is not None
    except OSError:
        return True  # let loading it say what is wrong


def contract_files(paths: tuple[str, ...], *, only_contracts: bool) -> list[str]:
    """The files to lint: each file named (unless ``only_contracts`` and it is other YAML),
    and every contract among the .yaml/.yml files under each folder named."""
    found: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            if not only_contracts or is_contract(path):
                found.append(path)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_FOLDERS and not d.startswith("."))
            for name in sorted(files):
                full = os.path.join(root, name)
                if name.lower().endswith((".yaml", ".yml")) and is_contract(full):
                    found.append(os.path.normpath(full))
    return found


def lint_paths(paths: tuple[str, ...], *, against: str | None, only_contracts: bool, odcs_object: str | None, echo: Echo) -> int:
    """Lint the contracts at ``paths``; 1 when any problem is found, else 0."""
    from dqgate.contract import lint_cache

    problems = breaking = 0
    files = contract_files(paths, only_contracts=only_contracts)
    for path in files:
        text = lint_cache.read(path) if against is None and odcs_object is None else None
        if text is not None and lint_cache.known_clean(text):
            continue  # this very text linted clean before, with this very code
        from dqgate.contract import lint_file, load_contract

        try:  # pydantic only for a contract whose shape is not proven (contract/shape.py)
            contract = lint_file(path) if odcs_object is None else load_contract(path, object=odcs_object)
        except ContractError as exc:
            for line in exc.problems:
                echo(line)
            problems += len(exc.problems)
            continue
        if text is not None:
            lint_cache.remember_clean(text)
        if against is not None:
            from dqgate.contract.compat import compare_with_revision

            for change in compare_with_revision(contract, against):
                echo(change.describe())
                problems += change.fails
                breaking += change.fails
    noun = "problem" if problems == 1 else "problems"
    hint = f" ({breaking} breaking: raise the major version to allow them)" if breaking else ""
    echo(f"dq lint: {len(files)} contract(s), {problems} {noun}{hint}", err=True)
    return 1 if problems else 0


def attempt(argv: list[str]) -> int | None:
    """Answer ``dq lint [--only-contracts] [--against REV] PATHS...`` (``argv`` after
    ``dq``; the pre-commit hook's command) without click: the exit code, or None, having
    written nothing, for anything else (another option, a path that does not exist:
    click's usage errors) or any error but a contract's (a bad revision: click's path
    says it in one line)."""
    if len(argv) < 2 or argv[0] != "lint":
        return None
    paths: list[str] = []
    options: dict[str, object] = {}
    args = iter(argv[1:])
    for arg in args:
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in options:
            return None
        if name == "--only-contracts" and not eq:
            options[name] = True
        elif name == "--against":
            options[name] = value if eq else next(args, None)
            if not options[name] or str(options[name]).startswith("-"):
                return None
        elif arg.startswith("-") or not arg or not os.path.exists(arg):
            return None
        else:
            paths.append(arg)
    if not paths:
        return None
    # pydantic looks for plugins (an entry-point scan of every installed distribution, ~20-40 ms)
    # when it builds the contract models; a lint process runs no code that could use one.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    lines: list[tuple[str, bool]] = []
    try:
        code = lint_paths(tuple(paths), against=options.get("--against"), only_contracts="--only-contracts" in options,  # type: ignore[arg-type]
                          odcs_object=None, echo=lambda line, err=False: lines.append((line, err)))  # fmt: skip
    except KeyboardInterrupt:  # as cli/group.py's main says it
        sys.stderr.write("dq: interrupted\n")
        return 130
    except Exception:  # noqa: BLE001 - nothing printed yet: the click path answers, with its one-line errors
        return None
    for line, err in lines:
        stream = sys.stderr if err else sys.stdout
        stream.write(line + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    return code
