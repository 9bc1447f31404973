"""``dq snapshots``, ``dq lineage`` and ``dq store``: a shell over ``dqgate.store`` (``dq quarantine``: cli/quarantine.py).

Each command parses its arguments, calls the store, and prints a rich table or,
with ``--format json``, JSON. Errors are ``dqgate.errors`` exceptions, turned into
one line and exit code 2 by ``dq``'s main; ``snapshots verify`` exits 1 when it
finds problems.
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from dqgate.cli._params import STORE_FORMAT, Duration, cell, echo_json, rich_console
from dqgate.errors import StampError, UsageError
from dqgate.store.diff import diff as diff_versions
from dqgate.store.gc import DEFAULT_MIN_AGE
from dqgate.store.gc import gc as gc_dataset
from dqgate.store.layout import list_datasets
from dqgate.store.lineage import read_lineage
from dqgate.store.publish import list_manifests, load_manifest
from dqgate.store.stamp import signature_status, signing_key
from dqgate.store.verify import verify_store



def _split_ref(ref: str, *, param: str) -> tuple[str, int | str]:
    """``DATASET[@VERSION]`` → (dataset, version or "latest")."""
    dataset, sep, version = ref.partition("@")
    if not sep or version == "latest":
        return dataset, "latest"
    if not version.isdigit():
        msg = f"{param} {ref!r}: version must be a number or 'latest'"
        raise UsageError(msg, param=param)
    return dataset, int(version)


@click.group("snapshots")
def snapshots() -> None:
    """List, show, verify and compare published snapshot versions."""


@snapshots.command("list")
@click.argument("store")
@click.argument("dataset")
@STORE_FORMAT
def list_cmd(store: str, dataset: str, fmt: str) -> None:
    """List every version of DATASET in STORE."""
    manifests = list_manifests(store, dataset)
    rows = [
        {
            "version": m.version,
            "created_at": m.created_at,
            "created_by": m.created_by,
            "status": m.status,
            "rows": m.rows,
            "files": len(m.files),
            "batches": len(m.batch_ids),
            "contract": f"{m.contract.get('dataset', '')}@{m.contract.get('version', '')}",
        }
        for m in manifests
    ]
    if fmt == "json":
        echo_json(rows)
        return
    table = Table(title=f"{dataset}: {len(rows)} version(s)")
    for col in ("version", "created_at", "created_by", "status", "rows", "files", "batches", "contract"):
        table.add_column(col, justify="right" if col in ("version", "rows", "files", "batches") else "left")
    for r in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in r.values()))
    rich_console().print(table)


@snapshots.command("show")
@click.argument("store")
@click.argument("ref", metavar="DATASET[@VERSION]")
@STORE_FORMAT
def show_cmd(store: str, ref: str, fmt: str) -> None:
    """Show the manifest of one version (the latest by default)."""
    dataset, version = _split_ref(ref, param="DATASET[@VERSION]")
    manifest = load_manifest(store, dataset, version)
    if fmt == "json":
        echo_json(manifest.to_dict())
        return
    try:
        signature = signature_status(manifest.stamp, signing_key())
    except StampError as exc:
        signature = f"INVALID: {exc}"
    console = rich_console()
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for name, value in (
        ("dataset", manifest.dataset),
        ("version", manifest.version),
        ("parent", manifest.parent),
        ("status", manifest.status),
        ("rows", f"{manifest.rows:,}"),
        ("created", f"{manifest.created_at} by {manifest.created_by}"),
        ("contract", f"{manifest.contract.get('dataset')}@{manifest.contract.get('version')} "
                     f"sha256 {str(manifest.contract.get('sha256'))[:12]}"),
        ("batches", ", ".join(manifest.batch_ids)),
        ("signature", signature),
    ):  # fmt: skip
        head.add_row(name, str(value))
    console.print(head)
    schema = Table(title="schema")
    for col in ("column", "type", "nullable"):
        schema.add_column(col)
    for c in manifest.schema:
        schema.add_row(str(c.get("name")), str(c.get("type")), str(c.get("nullable")))
    console.print(schema)
    files = Table(title=f"files ({len(manifest.files)})")
    for col in ("path", "rows", "bytes", "batch"):
        files.add_column(col, justify="right" if col in ("rows", "bytes") else "left")
    for f in manifest.files:
        files.add_row(f.path, f"{f.rows:,}", f"{f.bytes:,}", f.batch_id)
    console.print(files)


@snapshots.command("verify")
@click.argument("store")
@click.argument("dataset")
@click.option("--full", is_flag=True, help="Also hash every file and check its footer stamp.")
@STORE_FORMAT
@click.pass_context
def verify_cmd(ctx: click.Context, store: str, dataset: str, full: bool, fmt: str) -> None:  # noqa: FBT001
    """Check every version of DATASET; exit 1 when a problem is found."""
    problems = verify_store(store, dataset, full=full)
    if fmt == "json":
        echo_json({"dataset": dataset, "full": full, "ok": not problems, "problems": problems})
    elif problems:
        for p in problems:
            click.echo(f"{dataset}: {p}")
        click.echo(f"{dataset}: {len(problems)} problem(s) found")
    else:
        click.echo(f"{dataset}: ok ({'full' if full else 'stamp'} verification)")
    if problems:
        ctx.exit(1)


@snapshots.command("diff")
@click.argument("store")
@click.argument("ref_a", metavar="DATASET@A")
@click.argument("ref_b", metavar="DATASET@B")
@click.option("--key", "keys", multiple=True, help="Primary-key column (repeat for a compound key).")
@STORE_FORMAT
def diff_cmd(store: str, ref_a: str, ref_b: str, keys: tuple[str, ...], fmt: str) -> None:
    """Compare two versions of one dataset: schema, rows and column statistics."""
    dataset, a = _split_ref(ref_a, param="DATASET@A")
    dataset_b, b = _split_ref(ref_b, param="DATASET@B")
    if dataset_b != dataset:
        raise UsageError(f"diff compares versions of one dataset, got {dataset!r} and {dataset_b!r}", param="DATASET@B")
    va = load_manifest(store, dataset, a).version
    vb = load_manifest(store, dataset, b).version
    result = diff_versions(store, dataset, va, vb, key=list(keys) or None)
    if fmt == "json":
        echo_json(result)
        return
    _print_diff(result)


def _arrow(a: Any, b: Any) -> str:
    fa, fb = cell(a), cell(b)
    return fa if fa == fb else f"{fa} → {fb}"


def _print_diff(result: dict[str, Any]) -> None:
    console = rich_console()
    rows, files, schema = result["rows"], result["files"], result["schema"]
    console.print(
        f"[bold]{result['dataset']}[/] {result['a']} → {result['b']}: rows {_arrow(rows['a'], rows['b'])} "
        f"({rows['delta']:+,}); files +{len(files['added'])} -{len(files['removed'])}"
    )
    for c in schema["added"]:
        console.print(f"  + column {c['name']} ({c['type']})")
    for c in schema["removed"]:
        console.print(f"  - column {c['name']} ({c['type']})")
    for c in schema["type_changed"]:
        console.print(f"  ~ column {c['name']}: {c['a']} → {c['b']}")
    table = Table(title="columns (a → b)")
    for col in ("column", "type", "nulls", "distinct", "min", "max", "mean"):
        table.add_column(col)
    for name, sides in result["columns"].items():
        a, b = sides.get("a") or {}, sides.get("b") or {}
        table.add_row(
            name,
            _arrow(a.get("type"), b.get("type")),
            *(_arrow(a.get(s), b.get(s)) for s in ("null_count", "distinct", "min", "max", "mean")),
        )
    console.print(table)
    if "keys" in result:
        k = result["keys"]
        console.print(
            f"by key {', '.join(k['key'])}: {k['added']:,} added, {k['removed']:,} removed, {k['changed']:,} changed"
        )


@click.command("lineage")
@click.argument("store")
@click.argument("dataset")
@STORE_FORMAT
def lineage(store: str, dataset: str, fmt: str) -> None:
    """Show who read which version of DATASET, and when."""
    records = read_lineage(store, dataset)
    if fmt == "json":
        echo_json(records)
        return
    table = Table(title=f"{dataset}: {len(records)} read(s)")
    for col in ("time", "version", "consumer", "host", "pid"):
        table.add_column(col)
    for r in records:
        table.add_row(*(str(r.get(c, "")) for c in ("time", "version", "consumer", "host", "pid")))
    rich_console().print(table)


@click.group("store")
def store() -> None:
    """Maintain a snapshot store."""


@store.command("gc")
@click.argument("store_path", metavar="STORE")
@click.argument("dataset", required=False)
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option(
    "--min-age",
    type=click.FloatRange(min=0),
    default=DEFAULT_MIN_AGE,
    show_default=True,
    help="Keep files younger than this many seconds (protects running publishers; 0 after a crash).",
)
@click.option(
    "--quarantine-older-than",
    "quarantine_age",
    type=Duration(),
    help="Also drop quarantined batches older than this (e.g. 30d, 12h).",
)
@STORE_FORMAT
def gc_cmd(store_path: str, dataset: str | None, dry_run: bool, min_age: float, quarantine_age: float | None, fmt: str) -> None:  # noqa: FBT001
    """Delete objects no manifest names, and temporary files left by crashes."""
    datasets = [dataset] if dataset else list_datasets(store_path)
    removed = {d: gc_dataset(store_path, d, dry_run=dry_run, min_age=min_age) for d in datasets}
    if quarantine_age is not None:
        from dqgate.store.quarantine_entries import expire

        for d in datasets:
            removed[d] = removed[d] + expire(store_path, d, quarantine_age, dry_run=dry_run)
    if fmt == "json":
        echo_json({"dry_run": dry_run, "min_age": min_age, "quarantine_older_than": quarantine_age, "removed": removed})
        return
    verb = "would delete" if dry_run else "deleted"
    for d, paths in removed.items():
        for p in paths:
            click.echo(f"{d}/{p}")
        click.echo(f"{d}: {verb} {len(paths)} file(s) (older than {min_age:g}s)")
