"""`dq lint` (the pre-commit hook) and `dq schema`. No data, no engines: this path must start fast."""

from __future__ import annotations

import json

import click

from dqgate.cli.lint_run import contract_files, is_contract, lint_paths


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--against", "against", metavar="REV", help="Also report changes against the contract at git revision REV; breaking ones fail unless the major version was raised.")
@click.option("--only-contracts", is_flag=True, help=(
    "Skip named YAML files that are not contracts (no top-level dataset:, schema: or checks:);"
    " the pre-commit hook passes every YAML file with it. Folders are always searched this way."))
@click.option("--object", "odcs_object", metavar="NAME", help="For ODCS contracts with several schema objects: the one to use.")
def lint(paths: tuple[str, ...], against: str | None, only_contracts: bool, odcs_object: str | None) -> int:
    """Validate contract files (dqgate or ODCS v3; or every contract under a folder) without data. Exit 1 when any problem is found."""
    return lint_paths(paths, against=against, only_contracts=only_contracts, odcs_object=odcs_object, echo=click.echo)


@click.command()
def schema() -> int:
    """Print the JSON Schema of the contract language (for editors and the YAML language server)."""
    from dqgate.contract.jsonschema import contract_json_schema

    click.echo(json.dumps(contract_json_schema(), indent=2))
    return 0


__all__ = ["contract_files", "is_contract", "lint", "schema"]
