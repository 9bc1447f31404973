"""`dq profile`: print a starter contract for a data file."""

from __future__ import annotations

import click


@click.command()
@click.argument("data", type=click.Path(exists=True))
@click.option("--key", "key", multiple=True, metavar="COL", help="A column that identifies rows (unique and required); repeat for a composite key.")
@click.option("--dataset", metavar="NAME", help="The dataset name (default: from the file name).")
@click.option("--margin", type=click.FloatRange(0, 10), default=0.25, show_default=True,
              help="Widen each range by this fraction of its observed span on each side (0: the exact min and max).")
@click.option("--output", "-o", metavar="FILE", help="Write the contract here (paths in it relative to its folder) instead of stdout.")
def profile(data: str, key: tuple[str, ...], dataset: str | None, margin: float, output: str | None) -> int:
    """Write a starter contract for DATA to stdout (two passes over the data).

    It lints clean and passes on DATA and, thanks to --margin, on the next batch of the
    same data; paths in it are relative (to the working folder, or to --output's folder).
    Review every rule before it guards anything.
    """
    import os

    from dqgate.cli._params import check_output, write_output
    from dqgate.report.suggest import starter_contract

    if output is not None:
        check_output(output)
    folder = os.path.dirname(os.path.abspath(output)) if output not in (None, "-") else None
    write_output(starter_contract(data, key=key, dataset=dataset, margin=margin, relative_to=folder), output)
    return 0
