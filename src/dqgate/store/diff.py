"""Compare two versions of a dataset: schema, rows, files, per-column statistics, keys.

Both versions are opened with :func:`~dqgate.store.read.open_snapshot`, so they
pass the same stamp and history checks as a training job's read, and DuckDB
reads them through the verified read path (``Snapshot.to_duckdb``): a byte that
differs from what was published raises :class:`~dqgate.errors.StampError`
naming the file, never a statistic of changed data.

Statistics are computed by DuckDB in one aggregate query per version over the
version's Parquet files: null count, min, max (orderable types), mean (numeric
types) and the exact number of distinct values. With a primary key, anti joins
count the rows added and removed and a join counts the rows whose other common
columns changed. SQL is built with sqlglot, never by string formatting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dqgate.errors import UsageError
from dqgate.store.layout import dataset_layout, is_local
from dqgate.store.read import open_snapshot
from dqgate.store.stamp import json_safe

if TYPE_CHECKING:
    import duckdb
    from sqlglot import exp

    from dqgate.store.manifest import Manifest

_NUMERIC = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE",
}  # fmt: skip
_SAMPLE = 5


def diff(store: str, dataset: str, a: int, b: int, *, key: list[str] | None = None) -> dict[str, Any]:
    """Compare versions ``a`` and ``b`` of ``dataset``.

    Args:
        store: Store path (local).
        dataset: Dataset name.
        a: The old version.
        b: The new version.
        key: Primary-key columns; when given, rows added, removed and changed are counted.

    Returns:
        A JSON-able dict with ``schema``, ``rows``, ``files``, ``columns`` and (with a key) ``keys``.

    Raises:
        StoreError: a version does not exist.
        StampError: a version's stamp does not hold.
        UsageError: a key column is missing from either version, or the store is not local.
    """
    layout = dataset_layout(store, dataset)
    if not is_local(layout.fs):
        raise UsageError(f"diff reads local stores only, not {layout.scheme}", param="store")
    snapshots = [open_snapshot(store, dataset, version) for version in (a, b)]
    ma, mb = (s.manifest for s in snapshots)
    import duckdb  # imported here: a reader of snapshots should not pay for DuckDB and sqlglot

    from dqgate.store.relation import stamp_error

    con = duckdb.connect()
    try:
        for name, snapshot in zip(("snap_a", "snap_b"), snapshots):
            snapshot.to_duckdb(con).relation.create_view(name)
        types = {
            name: dict(zip(con.table(name).columns, map(str, con.table(name).types))) for name in ("snap_a", "snap_b")
        }
        result: dict[str, Any] = {
            "dataset": dataset,
            "a": a,
            "b": b,
            "schema": _schema_diff(ma, mb),
            "rows": {"a": ma.rows, "b": mb.rows, "delta": mb.rows - ma.rows},
            "files": _files_diff(ma, mb),
            "columns": _columns(con, types),
        }
        if key:
            result["keys"] = _keys(con, key, types)
    except duckdb.Error as exc:  # the views scan verified bytes; a refused byte surfaces as DuckDB's error
        refused = stamp_error(exc)
        if refused is None:
            raise
        raise refused from exc
    finally:
        con.close()
    return json_safe(result)


def _schema_diff(ma: Manifest, mb: Manifest) -> dict[str, Any]:
    ca = {c["name"]: c for c in ma.schema}
    cb = {c["name"]: c for c in mb.schema}
    return {
        "added": [{"name": n, "type": cb[n]["type"]} for n in cb if n not in ca],
        "removed": [{"name": n, "type": ca[n]["type"]} for n in ca if n not in cb],
        "type_changed": [
            {"name": n, "a": ca[n]["type"], "b": cb[n]["type"]}
            for n in ca
            if n in cb and ca[n]["type"] != cb[n]["type"]
        ],
        "nullable_changed": [
            {"name": n, "a": ca[n]["nullable"], "b": cb[n]["nullable"]}
            for n in ca
            if n in cb and ca[n]["nullable"] != cb[n]["nullable"]
        ],
    }


def _files_diff(ma: Manifest, mb: Manifest) -> dict[str, Any]:
    fa, fb = set(ma.file_paths), set(mb.file_paths)
    return {
        "a": len(ma.files),
        "b": len(mb.files),
        "added": sorted(fb - fa),
        "removed": sorted(fa - fb),
        "batches_added": [x for x in mb.batch_ids if x not in ma.batch_ids],
        "batches_removed": [x for x in ma.batch_ids if x not in mb.batch_ids],
    }


def _kind(duck_type: str) -> str:
    t = duck_type.upper()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION")):
        return "nested"
    if t in _NUMERIC or t.startswith("DECIMAL"):
        return "numeric"
    return "orderable"


def _column_stats(con: duckdb.DuckDBPyConnection, view: str, columns: dict[str, str]) -> dict[str, dict[str, Any]]:
    from sqlglot import exp

    exprs: list[exp.Expression] = []
    names: list[tuple[str, str]] = []
    for i, (name, duck_type) in enumerate(columns.items()):
        c = exp.column(name, quoted=True)
        kind = _kind(duck_type)
        stats: list[tuple[str, exp.Expression]] = [
            ("null_count", exp.Sub(this=exp.Count(this=exp.Star()), expression=exp.Count(this=c))),
            ("distinct", exp.Count(this=exp.Distinct(expressions=[c]))),
        ]
        if kind != "nested":
            stats += [("min", exp.Min(this=c)), ("max", exp.Max(this=c))]
        if kind == "numeric":
            stats.append(("mean", exp.Avg(this=exp.Cast(this=c, to=exp.DataType.build("DOUBLE")))))
        for stat, e in stats:
            exprs.append(exp.alias_(e, f"c{i}_{stat}", quoted=True))
            names.append((name, stat))
    out: dict[str, dict[str, Any]] = {name: {"type": t} for name, t in columns.items()}
    if not exprs:
        return out
    sql = exp.select(*exprs).from_(exp.to_table(view)).sql(dialect="duckdb")
    row = con.execute(sql).fetchone()
    assert row is not None
    for (name, stat), value in zip(names, row):
        out[name][stat] = value
    return out


def _columns(con: duckdb.DuckDBPyConnection, types: dict[str, dict[str, str]]) -> dict[str, Any]:
    sa = _column_stats(con, "snap_a", types["snap_a"])
    sb = _column_stats(con, "snap_b", types["snap_b"])
    return {name: {"a": sa.get(name), "b": sb.get(name)} for name in [*sa, *(n for n in sb if n not in sa)]}


def _keys(con: duckdb.DuckDBPyConnection, key: list[str], types: dict[str, dict[str, str]]) -> dict[str, Any]:
    from sqlglot import exp

    for side in ("snap_a", "snap_b"):
        missing = [k for k in key if k not in types[side]]
        if missing:
            version = "a" if side == "snap_a" else "b"
            msg = f"key column(s) {missing} not in version {version}; columns: {sorted(types[side])}"
            raise UsageError(msg, param="key")
    using = [exp.to_identifier(k, quoted=True) for k in key]
    key_cols = [exp.column(k, quoted=True) for k in key]

    def anti(left: str, right: str) -> exp.Select:
        return exp.select(*key_cols).from_(exp.to_table(left)).join(exp.to_table(right), using=using, join_type="anti")

    def count(q: exp.Select) -> int:
        row = con.execute(
            exp.select(exp.Count(this=exp.Star())).from_(q.subquery("q")).sql(dialect="duckdb")
        ).fetchone()
        return int(row[0]) if row else 0

    def sample(q: exp.Select) -> list[Any]:
        rows = con.execute(q.order_by(*key_cols).limit(_SAMPLE).sql(dialect="duckdb")).fetchall()
        return [r[0] if len(key) == 1 else list(r) for r in rows]

    added, removed = anti("snap_b", "snap_a"), anti("snap_a", "snap_b")
    common = [c for c in types["snap_a"] if c in types["snap_b"] and c not in key]
    changed = 0
    if common:
        differs = exp.or_(
            *(
                exp.NullSafeNEQ(
                    this=exp.column(c, table="x", quoted=True), expression=exp.column(c, table="y", quoted=True)
                )
                for c in common
            )
        )
        q = (
            exp.select(exp.Count(this=exp.Star()))
            .from_(exp.to_table("snap_a").as_("x"))
            .join(exp.to_table("snap_b").as_("y"), using=using)
            .where(differs)
        )
        row = con.execute(q.sql(dialect="duckdb")).fetchone()
        changed = int(row[0]) if row else 0
    return {
        "key": key,
        "added": count(added),
        "removed": count(removed),
        "changed": changed,
        "sample_added": sample(added),
        "sample_removed": sample(removed),
    }
