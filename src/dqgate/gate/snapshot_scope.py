"""Judge an append over the snapshot it would create (parent ∪ batch), incrementally.

A stamp says "this snapshot passed its contract", so with ``publish: append`` the
dataset-level rules are judged over parent ∪ batch, not over the batch alone. The
parent is not rescanned when it can be avoided: each version keeps the mergeable
state of its rules (``store/state.py``) and, for keys, sorted runs of (key, count)
(``store/key_index.py``). Per rule, the snapshot's value is

* ``merged``: from the parent's state and the batch's (row rules' failing/applying
  counts; ``row_count``, ``null_count``, ``null_fraction``, ``sum``, ``min``,
  ``max`` of numbers; ``mean`` and ``stddev`` from (n, mean, M2) merged by Chan et
  al.'s pairwise update; freshness from the newest value; uniqueness from the
  batch's key counts joined with the parent's key runs);
* ``rescan``: the snapshot is scanned because the value cannot be merged exactly
  (median, quantile, distinct_count, SQL aggregates, ``by:`` slices, evaluation
  metrics), or because the parent's state is missing, corrupt or from other rules
  (it is then rebuilt from the parent's files, and a note says so);
* ``batch``: the rule is judged on the batch alone (``scope: batch``, drift).

Uniqueness counts every row whose key occurs more than once in the snapshot: for a
key seen ``p`` times in the parent and ``b`` times in the batch the snapshot adds
``(p+b) - [p>1]p - [b>1]b`` failing rows to the parent's and the batch's own.

A racing publisher that loses version N re-judges against N (:func:`rejudge`):
merged values are merged again from N's state, and the batch's keys are joined
only with the key runs it has not been checked against yet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlglot import exp

from dqgate.compilers.duckdb import SOURCE_VIEW, col, data_column, data_names
from dqgate.compilers.duckdb.common import and_, filtered, zero_for_empty
from dqgate.contract.contract import Contract
from dqgate.errors import DataError
from dqgate.gate.key_counts import KeyCounts, count_keys
from dqgate.ir import nodes as n
from dqgate.runners import assemble, decide
from dqgate.runners.results import CheckResult, RunResult
from dqgate.stats.history import is_value_of
from dqgate.store import key_index
from dqgate.store.beside import Beside
from dqgate.store.manifest import Manifest
from dqgate.store.state import read_state, write_state

STATE_FORMAT = 1
Profiler = Callable[[list[exp.Expression]], tuple[Any, dict[str, Any]]]  # extra aggregates -> (profile, raw values)
MERGED_METRICS = frozenset({"row_count", "null_count", "null_fraction", "min", "max", "sum", "mean", "stddev"})
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE")
_INTEGER = _NUMERIC[:9]


class SnapshotConflict(Exception):
    """A racer published first and the batch no longer fits the snapshot; carries the new judgement."""

    def __init__(self, judged: Judged) -> None:
        super().__init__(judged.conflict or "the snapshot fails its contract")
        self.judged = judged


@dataclass
class BatchState:
    """What the batch adds: per rule its aggregates, and the keys of each unique rule."""

    rules: dict[str, dict[str, Any]]
    keys: dict[str, Any]  # rule id -> Arrow table (key columns, COUNT), sorted
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id -> encoded run's reference
    encoded: dict[str, bytes] = field(default_factory=dict)  # run path -> its Parquet bytes, written on publish
    rows: int = 0
    profile: Any = None  # the batch's drift profile, when it was computed in the same statement (runners/reference.py)
    encoding: dict[str, Any] = field(default_factory=dict)  # rule id -> its run, being encoded beside the check (CheckKeys)


@dataclass
class Judged:
    """The snapshot's results, the state to keep with it, and what collided."""

    result: RunResult
    batch: RunResult
    parent: int | None
    state: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    collisions: dict[str, Any] = field(default_factory=dict)  # rule id -> Arrow table (keys, bn, pn, version)
    cleared: dict[str, set[str]] = field(default_factory=dict)  # rule id -> key runs holding none of the batch's keys
    pending: dict[str, bytes] = field(default_factory=dict)  # key runs to write with the state (path -> bytes)
    looked_up: dict[str, list[str]] = field(default_factory=dict)  # rule id -> the key runs the batch was joined with
    conflict: str | None = None
    rules: tuple[n.Rule, ...] = ()
    source: Batch | None = None  # the batch, kept for a re-judgement after a lost race

    @property
    def status(self) -> str:
        return self.result.status

    def checks_json(self, state_ref: dict[str, Any] | None) -> dict[str, Any]:
        """What the manifest records: the snapshot's results, the batch's, and the state's reference."""
        out = self.result.to_json()
        out["batch"] = self.batch.to_json()
        if self.notes:
            out["notes"] = list(self.notes)
        out["state"] = state_ref
        return out


def signature(rule: n.Rule) -> str:
    """What a rule's state depends on (not its line or severity): a short hash."""
    fields = {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule) if f.name not in ("line", "severity", "id")}
    fields.pop("mostly", None)
    return hashlib.sha256(f"{type(rule).__name__}{sorted(fields.items(), key=str)!r}".encode()).hexdigest()[:16]


def how(rule: n.Rule, types: dict[str, str]) -> str:
    """How the snapshot's value of ``rule`` is obtained: merged, rescan or batch."""
    if rule.scope == "batch" or isinstance(rule, (n.Drift, *n.HISTORY_RULES)):
        return "batch"
    if isinstance(rule, (n.RowRule, n.StrictSchema, n.Freshness)):
        return "merged"
    if isinstance(rule, n.Metric) and rule.func in MERGED_METRICS:
        if rule.func in ("min", "max", "sum") and _base_type(types.get(rule.columns[0], "")) not in _NUMERIC:
            return "rescan"
        return "merged"
    return "rescan"


def _base_type(t: str) -> str:
    return t.split("(")[0].upper()


# --- the batch's state -------------------------------------------------------------------


def batch_state(con: Any, view: str, rules: tuple[n.Rule, ...], counts: RunResult, types: dict[str, str],
                profiler: Profiler | None = None, keys: CheckKeys | None = None) -> BatchState:  # fmt: skip
    """The aggregates and key counts of ``view`` that the merged rules need (one scan, plus the
    GROUP BYs of :mod:`dqgate.gate.key_counts`); row rules' counts come from ``counts`` (the check
    of the same rows). With ``profiler`` the aggregates are computed by the statement that
    profiles the batch for the version's drift profile: one scan of the batch instead of two.
    ``keys``: the key counts of the same rows, counted for the check (:class:`CheckKeys`), and
    their runs being encoded beside it."""
    by_id = {r.id: r for r in counts.checks}
    out: dict[str, dict[str, Any]] = {}
    tables: dict[str, Any] = {}
    merged = [r for r in rules if how(r, types) == "merged" and not isinstance(r, n.StrictSchema)]
    unique = [r for r in merged if isinstance(r, n.Unique)]
    given = keys is not None and keys.counted is not None and all(r.id in keys.counted for r in unique)
    counted = keys.counted if given else count_keys(con, view, unique, types)  # type: ignore[union-attr]
    for rule in merged:
        if isinstance(rule, n.Unique):
            got = counted[rule.id]
            tables[rule.id] = got.table
            out[rule.id] = {"sig": signature(rule), "failed": got.failed, "total": got.total, "groups": got.groups}
        elif isinstance(rule, n.RowRule):
            state = row_state(rule, by_id.get(rule.id))
            if state is not None:
                out[rule.id] = state
    found, wanted = state_aggregates(rules, types)
    aggs: list[exp.Expression] = [exp.alias_(exp.Count(this=exp.Star()), "__rows", quoted=True), *found]
    profile = None
    if profiler is not None:  # the profile counts the rows as "__rows" too
        profile, row = profiler(aggs[1:])
    else:
        query = exp.select(*aggs).from_(exp.to_table(view, quoted=True))
        cur = con.execute(query.sql("duckdb"))
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchall()[0]))
    for rule, got in wanted:
        out[rule.id] = {"sig": signature(rule), **_agg_state(rule, [row[g] for g in got], types)}
    beside = {k: v for k, v in keys.encoding.items() if k in tables} if given else {}  # type: ignore[union-attr]
    return BatchState(out, tables, rows=int(row["__rows"]), profile=profile, encoding=beside)


def state_aggregates(rules: tuple[n.Rule, ...], types: dict[str, str]) -> tuple[list[exp.Expression], list[tuple[n.Rule, list[str]]]]:
    """The aggregates the merged metric and freshness rules keep as state (aliased, over the
    batch's view with DuckDB ``types``), and which of them each rule reads. The names depend
    only on the rules and types, so a statement that computed them elsewhere (the check's own,
    :func:`carried_by_check`) gives the values under the names :func:`batch_state` reads."""
    aggs: list[exp.Expression] = []
    wanted: list[tuple[n.Rule, list[str]]] = []
    for rule in rules:
        if how(rule, types) != "merged" or isinstance(rule, (n.StrictSchema, n.RowRule)):
            continue
        names = [f"{len(wanted)}_{k}" for k in _agg_names(rule)]
        aggs += [exp.alias_(e, name, quoted=True) for e, name in zip(_agg_exprs(rule, types), names)]
        wanted.append((rule, names))
    return aggs, wanted


def row_state(rule: n.Rule, got: CheckResult | None) -> dict[str, Any] | None:
    """The state a row rule keeps: its failing and applying rows, from the check of the same
    rows (None when the rule could not run: nothing to merge)."""
    if got is None or got.failed_rows is None:
        return None
    return {"sig": signature(rule), "failed": got.failed_rows, "total": got.total_rows}


def _agg_names(rule: n.Rule) -> list[str]:
    if isinstance(rule, n.Freshness):
        return ["max"]
    assert isinstance(rule, n.Metric)
    return {
        "row_count": ["n"], "null_count": ["n", "nulls"], "null_fraction": ["n", "nulls"], "min": ["value"],
        "max": ["value"], "sum": ["nn", "sum"], "mean": ["nn", "mean"], "stddev": ["nn", "mean", "m2"],
    }[rule.func]  # fmt: skip


def _agg_exprs(rule: n.Rule, types: dict[str, str]) -> list[exp.Expression]:
    c = col(rule.columns[0]) if rule.columns else None
    count_rows = filtered(exp.Count(this=exp.Star()), rule)
    if isinstance(rule, n.Freshness):
        return [filtered(exp.Max(this=c), rule)]
    assert isinstance(rule, n.Metric)
    nn = filtered(exp.Count(this=c), rule) if c is not None else None
    as_double = exp.cast(c, "DOUBLE") if c is not None else None
    if rule.func == "row_count":
        return [count_rows]
    if rule.func in ("null_count", "null_fraction"):
        return [count_rows, zero_for_empty(filtered(exp.CountIf(this=exp.Is(this=c, expression=exp.Null())), rule))]
    if rule.func in ("min", "max"):
        return [filtered((exp.Min if rule.func == "min" else exp.Max)(this=c), rule)]
    if rule.func == "sum":  # integers exactly (HUGEINT); floats with Kahan summation
        exact = _base_type(types.get(rule.columns[0], "")) in _INTEGER
        return [nn, filtered(exp.Sum(this=c) if exact else exp.func("fsum", c), rule)]
    if rule.func == "mean":
        return [nn, filtered(exp.Avg(this=as_double), rule)]
    var_pop = filtered(exp.VariancePop(this=as_double), rule)
    return [nn, filtered(exp.Avg(this=as_double.copy()), rule), exp.Mul(this=var_pop, expression=exp.cast(nn.copy(), "DOUBLE"))]


def _agg_state(rule: n.Rule, values: list[Any], types: dict[str, str]) -> dict[str, Any]:
    if isinstance(rule, n.Freshness):
        v = values[0]
        if v is None:
            return {"max": None, "type": None}
        kind = "datetime" if isinstance(v, dt.datetime) else "date"
        return {"max": v.isoformat(), "type": kind}
    names = _agg_names(rule)
    out = dict(zip(names, values))
    for k, v in out.items():
        if hasattr(v, "__float__") and not isinstance(v, (int, float)):
            out[k] = float(v)
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            out[k] = repr(v)  # JSON has no NaN; kept as text, read back by _num
    if "nn" in out or "n" in out:
        out = {k: (int(v) if k in ("n", "nn", "nulls") and v is not None else v) for k, v in out.items()}
    return out


def _num(v: Any) -> Any:
    return float(v) if isinstance(v, str) else v


# --- merging -------------------------------------------------------------------------------


def merge_state(rule: n.Rule, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The state of parent ∪ batch from the parent's (``a``) and the batch's (``b``)."""
    if isinstance(rule, n.Unique):  # repeated keys add up; keys both sides hold are counted in _unique_delta
        merged = {"sig": a["sig"], "failed": a["failed"] + b["failed"], "total": a["total"] + b["total"]}
        return {**merged, "groups": a.get("groups", 0) + b.get("groups", 0)}
    if isinstance(rule, n.RowRule):
        return {"sig": a["sig"], "failed": a["failed"] + b["failed"], "total": a["total"] + b["total"]}
    if isinstance(rule, n.Freshness):
        newest = [s for s in (a, b) if s["max"] is not None]
        return max(newest, key=lambda s: _when(s)) if newest else a
    assert isinstance(rule, n.Metric)
    f = rule.func
    if f == "row_count":
        return {**a, "n": a["n"] + b["n"]}
    if f in ("null_count", "null_fraction"):
        return {**a, "n": a["n"] + b["n"], "nulls": a["nulls"] + b["nulls"]}
    if f in ("min", "max"):
        vs = [_num(s["value"]) for s in (a, b) if s["value"] is not None]
        return {**a, "value": (min if f == "min" else max)(vs) if vs else None}
    if f == "sum":
        sums = [_num(s["sum"]) for s in (a, b) if s["sum"] is not None]
        total = (math.fsum(sums) if any(isinstance(x, float) for x in sums) else sum(sums)) if sums else None
        return {**a, "nn": a["nn"] + b["nn"], "sum": total}
    return {**a, **_chan(a, b, with_m2=f == "stddev")}


def _chan(a: dict[str, Any], b: dict[str, Any], *, with_m2: bool) -> dict[str, Any]:
    """Chan, Golub & LeVeque's pairwise update of (n, mean, M2): stable, no catastrophic cancellation."""
    na, nb = a["nn"], b["nn"]
    if nb == 0:
        return {k: a[k] for k in ("nn", "mean", "m2") if k in a}
    if na == 0:
        return {k: b[k] for k in ("nn", "mean", "m2") if k in b}
    ma, mb = _num(a["mean"]), _num(b["mean"])
    total = na + nb
    delta = mb - ma
    out = {"nn": total, "mean": ma + delta * (nb / total)}
    if with_m2:
        out["m2"] = _num(a["m2"]) + _num(b["m2"]) + delta * delta * (na * nb / total)
    return out


def _when(s: dict[str, Any]) -> dt.datetime:
    if s["type"] == "date":
        return dt.datetime.combine(dt.date.fromisoformat(s["max"]), dt.time(), tzinfo=dt.timezone.utc)
    v = dt.datetime.fromisoformat(s["max"])
    return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)


def value_of(rule: n.Rule, s: dict[str, Any]) -> Any:
    """The metric value (or the newest timestamp) a state stands for, as a full scan computes it."""
    if isinstance(rule, n.Freshness):
        if s["max"] is None:
            return None
        return dt.date.fromisoformat(s["max"]) if s["type"] == "date" else dt.datetime.fromisoformat(s["max"])
    assert isinstance(rule, n.Metric)
    f = rule.func
    if f == "row_count":
        return s["n"]
    if f == "null_count":
        return s["nulls"]
    if f == "null_fraction":
        return s["nulls"] / s["n"] if s["n"] else None
    if f in ("min", "max"):
        return _num(s["value"])
    if f == "sum":
        return _num(s["sum"]) if s["nn"] else None
    if f == "mean":
        return _num(s["mean"]) if s["nn"] else None
    return math.sqrt(max(_num(s["m2"]), 0.0) / (s["nn"] - 1)) if s["nn"] > 1 else None


# --- keys ----------------------------------------------------------------------------------


def collide(con: Any, store: str, dataset: str, rule: n.Unique, keys: Any, runs: list[dict[str, Any]]) -> Any:
    """Keys of the batch found in ``runs``: Arrow table (key columns, bn, pn, version), where
    ``pn`` counts the key over the runs and ``version`` is the oldest version holding it."""
    import pyarrow as pa

    names = list(rule.columns)
    schema = pa.schema([*(keys.schema.field(c) for c in names), pa.field("bn", pa.int64()), pa.field("pn", pa.int64()), pa.field("version", pa.int64())])
    empty = pa.Table.from_batches([], schema=schema)  # not schema.empty_table(), which imports pandas
    if runs and keys.num_rows and not rule.nulls_equal and pa.types.is_integer(keys.schema.field(0).type):
        span = key_index.integer_span(keys.column(0))  # runs whose keys cannot meet the batch's are neither verified nor read
        if span is None:  # NULLs in the first column (not judged): the range of the others
            import pyarrow.compute as pc

            got = pc.min_max(keys.column(0))
            span = (got["min"].as_py(), got["max"].as_py())
        runs = key_index.may_hold(store, dataset, runs, *span)
    if not runs or keys.num_rows == 0:
        return empty
    key_index.verify(store, dataset, runs)  # the runs read are trusted only when their bytes are those the state bound
    con.register("__dq_batch_keys", keys)
    con.register("__dq_key_runs", pa.table({"file": [key_index.run_path(store, dataset, r) for r in runs],
                                            "version": pa.array([int(r["version"]) for r in runs], pa.int64())}))  # fmt: skip
    reader = exp.func(
        "read_parquet",
        exp.Array(expressions=[exp.Literal.string(key_index.run_path(store, dataset, r)) for r in runs]),
        exp.EQ(this=exp.column("filename"), expression=exp.true()),
    )
    r, b, v = "r", "b", "v"
    same = exp.NullSafeEQ if rule.nulls_equal else exp.EQ  # nulls: equal makes a NULL key a key like any other
    # The batch's keys and the runs have the same columns in the same order, so DuckDB renames a
    # case twin ("A" after "a") the same way in both: spell the keys as DuckDB named them.
    described = con.execute('DESCRIBE SELECT * FROM "__dq_batch_keys"').fetchall()
    duck = dict(zip(keys.schema.names, (row[0] for row in described)))
    joined = (
        exp.select(
            *[exp.alias_(exp.column(duck[c], table=b, quoted=True), c, quoted=True) for c in names],
            exp.alias_(exp.func("any_value", exp.column(key_index.COUNT, table=b, quoted=True)), "bn"),
            exp.alias_(exp.Sum(this=exp.column(key_index.COUNT, table=r, quoted=True)), "pn"),
            exp.alias_(exp.Min(this=exp.column("version", table=v)), "version"),
        )
        .from_(exp.alias_(exp.Table(this=reader), r, table=True))
        .join(exp.alias_(exp.to_table("__dq_batch_keys", quoted=True), b, table=True),
              on=and_(*[same(this=exp.column(duck[c], table=r, quoted=True), expression=exp.column(duck[c], table=b, quoted=True)) for c in names]))
        .join(exp.alias_(exp.to_table("__dq_key_runs", quoted=True), v, table=True),
              on=exp.EQ(this=exp.column("filename", table=r), expression=exp.column("file", table=v)))
        .group_by(*[exp.column(duck[c], table=b, quoted=True) for c in names])
    )  # fmt: skip
    try:
        got = con.sql(joined.sql("duckdb")).to_arrow_table()
    finally:
        con.unregister("__dq_batch_keys")
        con.unregister("__dq_key_runs")
    return got.cast(schema)


def _groups_delta(collisions: Any) -> int:
    """Repeated keys the overlap adds: a key both sides hold is one repeated key, where each
    side counted it only if it repeated there: Σ 1 - [p>1] - [b>1]."""
    return sum(1 - (p > 1) - (b > 1) for p, b in zip(collisions.column("pn").to_pylist(), collisions.column("bn").to_pylist()))


def _unique_delta(collisions: Any) -> int:
    """Failing rows the overlap adds to parent's and batch's own: Σ (p+b) - [p>1]p - [b>1]b."""
    total = 0
    for p, b in zip(collisions.column("pn").to_pylist(), collisions.column("bn").to_pylist()):
        total += (p + b) - (p if p > 1 else 0) - (b if b > 1 else 0)
    return total


# --- judging -------------------------------------------------------------------------------


@dataclass
class Batch:
    """The batch being judged: its rows on a connection, its check, its state."""

    con: Any
    view: str
    result: RunResult
    types: dict[str, str]
    state: BatchState
    batch_id: str
    as_of: dt.datetime | None = None
    base_dir: str | None = None
    _arrow: Any = None

    def arrow(self) -> Any:
        if self._arrow is None:
            table = self.con.sql(exp.select(exp.Star()).from_(exp.to_table(self.view, quoted=True)).sql("duckdb")).to_arrow_table()
            self._arrow = table.rename_columns([data_column(c) for c in table.schema.names])  # "A", not DuckDB's "A_1"
        return self._arrow


def prepare_batch(con: Any, view: str, rules: tuple[n.Rule, ...], result: RunResult, batch_id: str, *,
                  as_of: dt.datetime | None = None, base_dir: str | None = None, profiler: Profiler | None = None,
                  keys: CheckKeys | None = None) -> Batch:  # fmt: skip
    """The batch's state, computed once (a lost race re-judges with the same)."""
    types = _view_types(con, view)
    state = batch_state(con, view, rules, result, types, profiler, keys)
    return Batch(con, view, result, types, state, batch_id, as_of, base_dir)


def _view_types(con: Any, view: str) -> dict[str, str]:
    described = con.execute(exp.Describe(this=exp.select(exp.Star()).from_(exp.to_table(view, quoted=True))).sql("duckdb")).fetchall()
    return {row[0]: row[1] for row in described}


@dataclass
class CheckKeys:
    """The batch's key counts, counted once for both the check and the key index.

    An ingest needs every key of the batch with its count (the key runs), and the check
    needs each unique rule's failing rows and repeated keys, which its GROUP BY would
    count a second time (about a third of the check's CPU on a 1M-row batch with a
    composite key). Given to the check as its ``keys`` (``runners.duckdb.KeyCounter``),
    this counts the merged unique rules over the checked view with
    :func:`~dqgate.gate.key_counts.count_keys`, hands the check their totals, and keeps
    the counts (``counted``) for :func:`judge_view` of the same view.
    """

    rules: list[n.Unique]
    counted: dict[str, KeyCounts] | None = None
    encoding: dict[str, Beside[tuple[dict[str, Any], bytes]]] = field(default_factory=dict)  # the runs, encoded beside the check

    @classmethod
    def of(cls, rules: tuple[n.Rule, ...]) -> CheckKeys:
        return cls([r for r in rules if isinstance(r, n.Unique) and how(r, {}) == "merged"])

    def __call__(self, con: Any, view: str, samples: int) -> dict[str, tuple[int, list[dict[str, Any]], int]]:
        if not self.rules:
            return {}
        self.counted = count_keys(con, view, self.rules, _view_types(con, view))
        # the runs are needed only to publish: pyarrow encodes them (~0.1 s for 1M keys) while the check runs
        self.encoding = {k: Beside(key_index.encode_run, got.table, name="dqgate-key-run") for k, got in self.counted.items()}
        return {r.id: self.counted[r.id].repeated(r.columns, samples) for r in self.rules}


def encode_runs(batch: Batch) -> None:
    """Encode the batch's key runs once (written only if the batch is published)."""
    for rule_id, table in batch.state.keys.items():
        if rule_id not in batch.state.runs:
            beside = batch.state.encoding.pop(rule_id, None)
            ref, data = beside.result() if beside is not None else key_index.encode_run(table)
            batch.state.runs[rule_id] = ref
            batch.state.encoded[ref["path"]] = data


def judge(c: Contract, rules: tuple[n.Rule, ...], batch: Batch, store: str, parent: Manifest | None, *,
          mode: str, previous: Judged | None = None) -> Judged:  # fmt: skip
    """Judge the snapshot that publishing ``batch`` on ``parent`` would create.

    ``parent`` None (a first version) or ``mode == "replace"``: the snapshot is the batch.
    ``previous``: the judgement against an older parent (a lost race); key runs it found
    free of the batch's keys are not read again.

    Raises:
        DataError: a rule cannot be judged over the snapshot (a column missing from the parent).
    """
    encode_runs(batch)
    pending = dict(batch.state.encoded)
    appended = mode == "append" and parent is not None
    notes: list[str] = []
    parent_state: dict[str, Any] = {}
    if appended:
        assert parent is not None
        _require_columns(rules, batch.types, parent, c.dataset)
        parent_state, notes = _parent_state(c, rules, batch, store, parent, pending)
    new_state: dict[str, Any] = {}
    results: list[CheckResult] = []
    rescan: list[n.Rule] = []
    collisions: dict[str, Any] = {}
    cleared: dict[str, set[str]] = {}
    looked_up: dict[str, list[str]] = {}
    by_id = {r.id: r for r in batch.result.checks}
    of_rule: dict[str, list[CheckResult]] = {}  # a sliced or per-class rule has one result per value
    for r in batch.result.checks:
        of_rule.setdefault(r.id.split("[", 1)[0] if r.id.endswith("]") else r.id, []).append(r)
    conflicts: list[str] = []
    now = batch.as_of or dt.datetime.now(dt.timezone.utc)
    for rule in rules:
        way = how(rule, batch.types)
        got = by_id.get(rule.id)
        if isinstance(rule, n.HISTORY_RULES):  # history is per batch: the batch's value against earlier batches'
            suffix = rule.id[len(rule.metric_id) :]
            mine = [r for r in batch.result.checks if r.rule == rule.kind and r.id.endswith(suffix) and is_value_of(r.id[: -len(suffix)], rule.metric_id)]
            results += [dataclasses.replace(r, scope="batch", computed="batch") for r in mine]
            continue
        if not appended or way == "batch" or isinstance(rule, n.StrictSchema):
            computed = "batch" if (way == "batch" or not appended) else "merged"
            for got in of_rule.get(rule.id, []):
                results.append(dataclasses.replace(got, scope="batch" if way == "batch" else "snapshot", computed=computed))
            if way == "merged" and rule.id in batch.state.rules:
                mine = dict(batch.state.rules[rule.id])
                if isinstance(rule, n.Unique):
                    mine["runs"] = [{**batch.state.runs[rule.id], "batch_id": batch.batch_id}]
                new_state[rule.id] = mine
            continue
        if way == "rescan" or rule.id not in batch.state.rules:
            rescan.append(rule)
            continue
        mine = batch.state.rules[rule.id]
        theirs = parent_state[rule.id]
        if isinstance(rule, n.Unique):
            seen = previous.cleared.get(rule.id, set()) if previous else set()
            todo = [r for r in theirs["runs"] if r["path"] not in seen]
            try:
                hit = collide(batch.con, store, c.dataset, rule, batch.state.keys[rule.id], todo)
            except key_index.CorruptRun as bad:  # rebuilt from the parent's rows, never trusted
                assert parent is not None
                theirs = parent_state[rule.id] = _rebuild(c, (rule,), batch, store, parent, pending)[rule.id]
                notes.append(f"{bad} (a key run of {c.dataset}@{parent.version}); rebuilt by rescanning for {rule.id}")
                todo = list(theirs["runs"])
                hit = collide(batch.con, store, c.dataset, rule, batch.state.keys[rule.id], todo)
        merged = merge_state(rule, theirs, mine)
        if isinstance(rule, n.Unique):
            runs = list(theirs["runs"])
            looked_up[rule.id] = [r["path"] for r in todo]
            collisions[rule.id] = hit
            cleared[rule.id] = {r["path"] for r in runs} if hit.num_rows == 0 else set()
            merged["failed"] += _unique_delta(hit)
            merged["groups"] = merged.get("groups", 0) + _groups_delta(hit)
            merged["runs"] = runs + [{**batch.state.runs[rule.id], "batch_id": batch.batch_id}]
            if hit.num_rows:
                version = min(hit.column("version").to_pylist())
                conflicts.append(f"{hit.num_rows:,} keys of {rule.id} already published in {c.dataset}@{version}")
        new_state[rule.id] = merged
        res = _merged_result(rule, merged, got, now)
        hit = collisions.get(rule.id)
        if hit is not None and hit.num_rows and res.status != "pass":  # the keys already published
            keys = hit.slice(0, 5).select(list(rule.columns)).to_pylist()
            res = dataclasses.replace(res, sample=tuple(k if len(k) > 1 else next(iter(k.values())) for k in keys))
        results.append(res)
    if rescan:
        results += _rescanned(c, tuple(rescan), batch, store, parent if appended else None)
    order = {r.id: i for i, r in enumerate(rules)}
    results.sort(key=lambda r: order.get(r.id.split("[")[0], len(order)))
    rows = (parent.rows if appended and parent else 0) + batch.state.rows
    uri = f"{c.dataset}@{parent.version} + batch {batch.batch_id}" if appended and parent else batch.result.source.get("uri")
    snap = RunResult(
        contract=dict(batch.result.contract), source={"uri": uri, "rows": rows}, status=decide.overall(tuple(results)),
        checks=tuple(results), elapsed_s=batch.result.elapsed_s, engine=batch.result.engine,
    )  # fmt: skip
    state = {"format": STATE_FORMAT, "contract_sha256": c.sha256, "rows": rows, "rules": new_state}
    judged = Judged(snap, batch.result, parent.version if appended and parent else None, state, notes, collisions, cleared,
                    pending=pending, looked_up=looked_up, rules=rules, source=batch)  # fmt: skip
    if conflicts and snap.status == "fail":
        judged.conflict = "; ".join(conflicts)
    return judged


def _merged_result(rule: n.Rule, s: dict[str, Any], got: CheckResult | None, now: dt.datetime) -> CheckResult:
    class _Plan:
        outputs = {rule.id: ("a", "b", "sample", "groups")}

    if isinstance(rule, n.RowRule):
        res = assemble.result(rule, _Plan(), {"a": s["failed"], "b": s["total"], "sample": None, "groups": s.get("groups")}, now)
        sample = got.sample if got is not None and not isinstance(rule, n.Unique) else ()
        res = dataclasses.replace(res, sample=sample)
    else:
        res = assemble.result(rule, _Plan(), {"a": value_of(rule, s)}, now)
    return dataclasses.replace(res, scope="snapshot", computed="merged")


def _require_columns(rules: tuple[n.Rule, ...], types: dict[str, str], parent: Manifest, dataset: str) -> None:
    have = {f.get("name") for f in parent.schema}
    for rule in rules:
        if how(rule, types) == "batch" or isinstance(rule, n.StrictSchema):
            continue
        missing = [c for c in rule.columns if c not in have]
        if missing:
            raise DataError(
                f"rule {rule.id} cannot be judged over the snapshot: column '{missing[0]}' is missing from "
                f"{dataset}@{parent.version} (publish with mode replace, or give the rule scope: batch)"
            )


def _parent_state(c: Contract, rules: tuple[n.Rule, ...], batch: Batch, store: str, parent: Manifest,
                  pending: dict[str, bytes]) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The parent's state of every merged rule; rules whose state is missing, corrupt or stale
    are rebuilt by one rescan of the parent (and a note says so)."""
    ref = parent.checks.get("state") if isinstance(parent.checks, dict) else None
    payload, problem = read_state(store, c.dataset, ref)
    saved = (payload or {}).get("rules", {}) if isinstance(payload, dict) else {}
    out: dict[str, Any] = {}
    stale: list[n.Rule] = []
    for rule in rules:
        if how(rule, batch.types) != "merged" or isinstance(rule, n.StrictSchema) or rule.id not in batch.state.rules:
            continue
        s = saved.get(rule.id)
        why = problem if payload is None else None
        if why is None and (not isinstance(s, dict) or s.get("sig") != signature(rule)):
            why = f"no state for rule {rule.id}"
        if why is None and isinstance(rule, n.Unique):
            runs = [_with_version(r, parent) for r in s.get("runs", [])]
            why = key_index.run_problems(store, c.dataset, runs)
            s = {**s, "runs": runs}
        if why is None:
            out[rule.id] = s
        else:
            stale.append(rule)
            problem = problem or why
    notes: list[str] = []
    if stale:
        out.update(_rebuild(c, tuple(stale), batch, store, parent, pending))
        notes.append(f"state of {c.dataset}@{parent.version} untrusted ({problem}); rebuilt by rescanning for " + ", ".join(r.id for r in stale))
    return out, notes


def _with_version(run: dict[str, Any], parent: Manifest) -> dict[str, Any]:
    """A run's version, from the position of its batch among the parent's batch ids."""
    ids = list(parent.batch_ids)
    if run.get("batch_id") in ids:
        return {**run, "version": parent.version - (len(ids) - 1 - ids.index(run["batch_id"]))}
    return {**run, "version": run.get("version", parent.version)}


def _parent_dataset(store: str, dataset: str, parent: Manifest) -> Any:
    import pyarrow.dataset as ds

    from dqgate.store.layout import dataset_layout

    layout = dataset_layout(store, dataset)
    return ds.dataset([layout.abs(f.path) for f in parent.files], format="parquet")


def _rebuild(c: Contract, rules: tuple[n.Rule, ...], batch: Batch, store: str, parent: Manifest, pending: dict[str, bytes]) -> dict[str, Any]:
    """The parent's state of ``rules``, from one scan of its files; key runs written anew."""
    from dqgate.runners import duckdb as runner

    con = runner.connect()
    try:
        row_rules = tuple(r for r in rules if isinstance(r, n.RowRule) and not isinstance(r, n.Unique))
        counted = runner.run(c, row_rules, _parent_dataset(store, c.dataset, parent), con=con, allow_empty=True, base_dir=batch.base_dir)
        state = batch_state(con, SOURCE_VIEW, rules, counted, batch.types)
    finally:
        con.close()
    out = dict(state.rules)
    for rule_id, table in state.keys.items():
        run, data = key_index.encode_run(table)
        key_index.write_run(store, c.dataset, run, data)  # a repair of the parent's index: written now, read below
        out[rule_id] = {**out[rule_id], "runs": [{**run, "version": parent.version, "rebuilt": True}]}
    return out


def _rescanned(c: Contract, rules: tuple[n.Rule, ...], batch: Batch, store: str, parent: Manifest | None) -> list[CheckResult]:
    """Results of ``rules`` over parent ∪ batch, from one scan of both."""
    import pyarrow.dataset as ds

    from dqgate.runners import duckdb as runner

    table = batch.arrow()
    parts = [ds.dataset(table)]
    if parent is not None:
        parent_ds = _parent_dataset(store, c.dataset, parent)
        parts = [parent_ds, ds.dataset(table.cast(parent_ds.schema))]
    got = runner.run(c, rules, ds.dataset(parts), as_of=batch.as_of, allow_empty=True, base_dir=batch.base_dir)
    return [dataclasses.replace(r, scope="snapshot", computed="rescan") for r in got.checks]


def keep(store: str, dataset: str, judged: Judged) -> dict[str, Any]:
    """Write the judged snapshot's key runs, then its state; returns the reference the manifest records."""
    for path, data in judged.pending.items():
        key_index.write_run(store, dataset, {"path": path}, data)
    return write_state(store, dataset, judged.state)


@dataclass
class Carried:
    """What the check of a batch about to be published computes for its judgement: ``ride`` (a
    ``runners.duckdb.Ride``, given to the check) and ``first`` (the ``FirstPass`` it carried:
    the first statement of the batch's profile plus the state's aggregates), set when the
    check plans its statement."""

    ride: Any = None
    first: Any = None


def carried_by_check(c: Contract, rules: tuple[n.Rule, ...], store: str, *, mode: str) -> Carried:
    """The check's fused statement computes the first statement of the batch's profile and the
    state's aggregates too, so :func:`judge_view` (given ``carried=``) does not scan the batch
    again for them: one read of the batch fewer per publish."""
    from dqgate.runners.duckdb import Ride
    from dqgate.runners.reference import first_pass

    carried = Carried()

    def aggregates(con: Any) -> list[exp.Expression]:
        described = con.execute(exp.Describe(this=exp.select(exp.Star()).from_(exp.to_table(SOURCE_VIEW, quoted=True))).sql("duckdb")).fetchall()
        extra, _ = state_aggregates(rules, {row[0]: row[1] for row in described})
        carried.first = first_pass(con, SOURCE_VIEW, store, c, mode=mode, extra=extra)
        return list(carried.first.aggregates)

    carried.ride = Ride(aggregates)
    return carried


def judge_view(c: Contract, rules: tuple[n.Rule, ...], con: Any, view: str, checked: RunResult, store: str, batch_id: str,
               *, mode: str, as_of: dt.datetime | None = None, published: int | None = None, profile: bool = False,
               keys: CheckKeys | None = None, carried: Carried | None = None) -> Judged:  # fmt: skip
    """Judge the rows of ``view`` (checked as ``checked``) as the next version of the store's dataset
    (or, when version ``published`` already holds them, as that version over its parent).

    ``profile``: the rows are about to be published; their drift profile is computed in the
    statement that computes their state (``judged.source.state.profile``, for the publish).
    ``keys``: the key counts the check of ``view`` took (:class:`CheckKeys`), reused.
    ``carried``: the ride of :func:`carried_by_check` that the check of ``view`` took: when it
    computed that statement already, its values are used instead of a scan."""
    from dqgate.runners.reference import profile_batch
    from dqgate.store.publish import load_manifest

    first = carried.first if carried is not None else None
    if first is not None:
        first.values = carried.ride.values  # type: ignore[union-attr]

    def profiler(extra: list[exp.Expression]) -> tuple[Any, dict[str, Any]]:
        if first is not None and first.values is not None:  # the check computed the profile's first statement and the state's aggregates
            return profile_batch(con, view, store, c, mode=mode, first=first)
        return profile_batch(con, view, store, c, mode=mode, extra_first=extra)

    batch = prepare_batch(con, view, rules, checked, batch_id, as_of=as_of, base_dir=c.base_dir, profiler=profiler if profile else None,
                          keys=keys)  # fmt: skip
    if mode != "append":
        parent = None
    elif published is None:
        parent = latest(store, c.dataset)
    else:
        before = load_manifest(store, c.dataset, published).parent
        parent = load_manifest(store, c.dataset, before) if before is not None else None
    return judge(c, rules, batch, store, parent, mode=mode)


def latest(store: str, dataset: str) -> Manifest | None:
    """The newest manifest of ``dataset``, or None when there is none (or no dataset yet)."""
    from dqgate.store.layout import dataset_layout
    from dqgate.store.publish import latest_version, load_manifest

    if not dataset_layout(store, dataset).exists():
        return None
    v = latest_version(store, dataset)
    return None if v is None else load_manifest(store, dataset, v)


def rejudge(c: Contract, previous: Judged, store: str, parent: int | None, *, mode: str) -> Judged:
    """Judge the batch again over ``parent`` (which a racer published); raises
    :class:`SnapshotConflict` when the snapshot would now fail."""
    from dqgate.store.publish import load_manifest

    assert previous.source is not None
    manifest = load_manifest(store, c.dataset, parent) if parent is not None else None
    judged = judge(c, previous.rules, previous.source, store, manifest, mode=mode, previous=previous)
    judged.notes.append(f"re-judged against {c.dataset}@{parent}, published by a racer meanwhile")
    if judged.status == "fail":
        raise SnapshotConflict(judged)
    return judged


COLLIDES_WITH = "__dq_collides_with"


def blocking_keys(judged: Judged) -> list[n.Unique]:
    """Error-severity unique rules (without ``mostly``) whose keys collide with published ones."""
    return [
        r for r in judged.rules
        if isinstance(r, n.Unique) and r.severity == "error" and r.mostly is None and r.id in judged.collisions
        and judged.collisions[r.id].num_rows
    ]  # fmt: skip


def split_colliding(table: Any, judged: Judged, flags: tuple[str, ...]) -> tuple[Any, Any]:
    """(rows of ``table`` whose key is already published, the other rows).

    The colliding rows carry one boolean column per id in ``flags`` (TRUE for the unique
    rules they break) and :data:`COLLIDES_WITH`, the oldest version holding their key.
    """
    import numpy as np
    import pyarrow as pa

    index = pa.array(np.arange(table.num_rows, dtype=np.int64))
    with_index = table.append_column("__dq_i", index)
    hit_rules: dict[str, set[int]] = {}
    version: dict[int, int] = {}
    for rule in blocking_keys(judged):
        keys = judged.collisions[rule.id].select([*rule.columns, "version"])
        got = with_index.select([*rule.columns, "__dq_i"]).join(keys, keys=list(rule.columns), join_type="inner")
        rows = got.column("__dq_i").to_pylist()
        hit_rules[rule.id] = set(rows)
        for i, v in zip(rows, got.column("version").to_pylist()):
            version[i] = min(v, version.get(i, v))
    hit = sorted(version)
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[hit] = True
    colliding = table.take(pa.array(hit, pa.int64()))
    for rule_id in flags:
        colliding = colliding.append_column(rule_id, pa.array([i in hit_rules.get(rule_id, ()) for i in hit], pa.bool_()))
    colliding = colliding.append_column(COLLIDES_WITH, pa.array([version[i] for i in hit], pa.int64()))
    return colliding, table.filter(pa.array(~mask))


def preview(c: Contract, data: Any, store: str, checked: RunResult, *, as_of: dt.datetime | None = None) -> Judged | None:
    """What appending ``data`` (checked as ``checked``) would make of the store's latest
    snapshot, without writing anything; None when nothing would be appended to."""
    from dqgate.runners import duckdb as runner
    from dqgate.runners.check import planned

    if c.model.gate.publish != "append" or latest(store, c.dataset) is None:
        return None
    rules = planned(c, store=store, base_dir=c.base_dir)
    con = runner.connect()
    try:
        source, _ = runner.prepare(con, c, data if data is not None else c.model.source, base_dir=c.base_dir)
        with data_names(source.names):
            return judge_view(c, rules, con, SOURCE_VIEW, checked, store, "preview", mode="append", as_of=as_of)
    finally:
        con.close()
