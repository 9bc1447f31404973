"""`dq import odcs` and `dq export odcs`: between dqgate contracts and ODCS v3 data contracts."""

from __future__ import annotations

import click

from dqgate.cli._params import write_output


def _yaml(value: object) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120)


@click.group("import")
def import_() -> None:
    """Translate another contract format into a dqgate contract."""


@import_.command("odcs")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--object", "obj", metavar="NAME", help="The schema object to import (needed when the contract has several).")
@click.option("--output", "-o", metavar="FILE", help="Write the dqgate contract here instead of stdout.")
def import_odcs(file: str, obj: str | None, output: str | None) -> int:
    """Write the dqgate contract equivalent to the ODCS v3 contract FILE.

    Every part that could not be mapped is listed on stderr with its position;
    exit 1 when a rule is among them (the dqgate contract would not check it).
    """
    from dqgate.contract.check import build_contract
    from dqgate.contract.load import load_file
    from dqgate.contract.odcs import is_odcs, translate
    from dqgate.errors import ContractError

    doc = load_file(file)
    if not is_odcs(doc.value):
        raise ContractError(f"{file}: not an ODCS v3 contract (it needs apiVersion: v3.x.y and kind: DataContract)")
    translation = translate(doc, object=obj)
    build_contract(translation.doc)  # the result must be a valid dqgate contract; positions point into FILE
    write_output(_yaml(translation.doc.value), output)
    for line in translation.not_mapped:
        click.echo(f"not mapped: {line}", err=True)
    rules = len(translation.blocking)
    click.echo(f"dq import odcs: object '{translation.object}', {len(translation.not_mapped)} part(s) not mapped, {rules} of them rules", err=True)
    return 1 if rules else 0


@click.group("export")
def export() -> None:
    """Write a dqgate contract in another contract format."""


@export.command("odcs")
@click.argument("contract", type=click.Path(dir_okay=False))
@click.option("--output", "-o", metavar="FILE", help="Write the ODCS contract here instead of stdout.")
def export_odcs(contract: str, output: str | None) -> int:
    """Write CONTRACT as an ODCS v3 data contract (dqgate-only parts in customProperties)."""
    from dqgate.contract import load_contract
    from dqgate.contract.odcs_export import to_odcs

    write_output(_yaml(to_odcs(load_contract(contract))), output)
    return 0
