"""`dq lint` (the pre-commit hook) and `dq schema`. No data, no engines: this path must start fast."""

from __future__ import annotations

import json
import os
import re

import click

from dqgate.errors import ContractError

# A contract is a YAML mapping with one of these top-level keys; other YAML (CI configs,
# docker-compose files, .pre-commit-config.yaml) has none of them.
_CONTRACT_KEY = re.compile(rb"^(dataset|schema|checks)[ \t]*:", re.MULTILINE)
_SKIPPED_FOLDERS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}


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


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--against", "against", metavar="REV", help="Also report changes against the contract at git revision REV; breaking ones fail unless the major version was raised.")
@click.option("--only-contracts", is_flag=True, help=(
    "Skip named YAML files that are not contracts (no top-level dataset:, schema: or checks:);"
    " the pre-commit hook passes every YAML file with it. Folders are always searched this way."))
@click.option("--object", "odcs_object", metavar="NAME", help="For ODCS contracts with several schema objects: the one to use.")
def lint(paths: tuple[str, ...], against: str | None, only_contracts: bool, odcs_object: str | None) -> int:
    """Validate contract files (dqgate or ODCS v3; or every contract under a folder) without data. Exit 1 when any problem is found."""
    from dqgate.contract import lint_cache

    problems = breaking = 0
    paths = tuple(contract_files(paths, only_contracts=only_contracts))
    for path in paths:
        text = lint_cache.read(path) if against is None and odcs_object is None else None
        if text is not None and lint_cache.known_clean(text):
            continue  # this very text linted clean before, with this very code
        from dqgate.contract import load_contract

        try:
            contract = load_contract(path, object=odcs_object)
        except ContractError as exc:
            for line in exc.problems:
                click.echo(line)
            problems += len(exc.problems)
            continue
        if text is not None:
            lint_cache.remember_clean(text)
        if against is not None:
            from dqgate.contract.compat import compare_with_revision

            for change in compare_with_revision(contract, against):
                click.echo(change.describe())
                problems += change.fails
                breaking += change.fails
    noun = "problem" if problems == 1 else "problems"
    hint = f" ({breaking} breaking: raise the major version to allow them)" if breaking else ""
    click.echo(f"dq lint: {len(paths)} contract(s), {problems} {noun}{hint}", err=True)
    return 1 if problems else 0


@click.command()
def schema() -> int:
    """Print the JSON Schema of the contract language (for editors and the YAML language server)."""
    from dqgate.contract.jsonschema import contract_json_schema

    click.echo(json.dumps(contract_json_schema(), indent=2))
    return 0
