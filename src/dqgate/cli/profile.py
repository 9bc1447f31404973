"""`dq profile`: print a starter contract for a data file."""

from __future__ import annotations

import click


@click.command()
@click.argument("data", type=click.Path(exists=True))
@click.option("--key", "key", multiple=True, metavar="COL", help="A column that identifies rows (unique and required); repeat for a composite key.")
@click.option("--dataset", metavar="NAME", help="The dataset name (default: from the file name).")
def profile(data: str, key: tuple[str, ...], dataset: str | None) -> int:
    """Write a starter contract for DATA to stdout (two passes over the data).

    It lints clean and passes on DATA; review every rule before it guards anything.
    """
    from dqgate.report.suggest import starter_contract

    click.echo(starter_contract(data, key=key, dataset=dataset), nl=False)
    return 0
