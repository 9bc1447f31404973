"""`dq history`: the published values of a dataset's metrics, version by version."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("store", type=click.Path(file_okay=False))
@click.argument("dataset")
@click.option("--metric", "metric", metavar="ID", help="One metric id (its slices, id[...], included); default: every metric.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def history(store: str, dataset: str, metric: str | None, fmt: str) -> int:
    """Print the observed value of each metric of DATASET in every published version."""
    from dqgate.stats.history import series
    from dqgate.report.history import render

    points = series(store, dataset, metric)
    if fmt == "json":
        click.echo(json.dumps(points, indent=2, default=str))
    else:
        click.echo(render(points, dataset=dataset, metric=metric), nl=False)
    return 0
