"""`dq lint` (the pre-commit hook) and `dq schema`. No data, no engines: this path must start fast."""

from __future__ import annotations

import json

import click

from dqgate.errors import ContractError


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--against", "against", metavar="REV", help="Also report changes against the contract at git revision REV; breaking ones fail unless the major version was raised.")
@click.option("--object", "odcs_object", metavar="NAME", help="For ODCS contracts with several schema objects: the one to use.")
def lint(paths: tuple[str, ...], against: str | None, odcs_object: str | None) -> int:
    """Validate contract files without data. Exit 1 when any problem is found."""
    from dqgate.contract import load_contract

    problems = breaking = 0
    for path in paths:
        try:
            contract = load_contract(path, object=odcs_object)
        except ContractError as exc:
            for line in exc.problems:
                click.echo(line)
            problems += len(exc.problems)
            continue
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
