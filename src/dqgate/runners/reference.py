"""Bind drift rules to their reference before compiling, and build the profile a new snapshot keeps.

The reference of a ``drift:`` section is the latest published snapshot of the
contract's dataset (default), a pinned version, or a data file:

* a snapshot's side comes from the profile in its manifest (:mod:`dqgate.stats.profile`), so the
  snapshot is never scanned again;
* a file is profiled when the check runs (two statements over the file);
* without a store, a snapshot reference cannot be read: the check stops with one
  line saying to pass ``--store`` (exit 2), as does a reference file that is missing
  or unreadable (no drift rule could run, as with a missing ``source:``); before the first publish there is nothing to compare with
  yet, and the rule passes saying so (``no reference yet``), so a first batch can be
  published at all.

Binding is I/O (it reads manifests or files), so it runs before compiling; the bound
:class:`~dqgate.stats.drift.Reference` travels inside the rule to the compilers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dqgate.stats import profile as prof
from dqgate.errors import DataError, DqError, UsageError
from dqgate.ir import nodes as n

if TYPE_CHECKING:
    import duckdb

    from dqgate.contract.contract import Contract


def bind_drift(rules: tuple[n.Rule, ...], contract: Contract, *, store: str | None, base_dir: str | None = None) -> tuple[n.Rule, ...]:
    """``rules`` with every drift rule's reference bound (or ``ref_error`` saying why not)."""
    if not any(isinstance(r, n.Drift) for r in rules):
        return rules
    cache: dict[Any, tuple[dict[str, Any] | None, str]] = {}
    out: list[n.Rule] = []
    for rule in rules:
        if not isinstance(rule, n.Drift):
            out.append(rule)
            continue
        key = (rule.reference, rule.where)  # a file reference is profiled over the rule's ``where`` rows
        if key not in cache:
            columns = {r.columns[0] for r in rules if isinstance(r, n.Drift) and (r.reference, r.where) == key}
            cache[key] = _load(contract, rule.reference, store=store, base_dir=base_dir, columns=columns, where=rule.where)
        profile, source = cache[key]
        if profile is None:
            out.append(replace(rule, ref_error=source))
            continue
        ref = prof.reference_of(profile, rule.columns[0], source=source)
        out.append(replace(rule, ref_error=ref) if isinstance(ref, str) else replace(rule, ref=ref))
    return tuple(out)


def _load(
    contract: Contract, reference: int | str, *, store: str | None, base_dir: str | None, columns: set[str],
    where: str | None = None,
) -> tuple[dict[str, Any] | None, str]:
    """(profile, source name) of a reference, or (None, why not)."""
    if isinstance(reference, str) and reference != "latest":
        return _file_profile(reference, base_dir, columns, contract, where)
    if store is None:
        raise UsageError(
            f"{_where(contract)}drift reference {reference!r} is a published snapshot of '{contract.dataset}',"
            " so the check needs the snapshot store: pass --store DIR (dq check) or store= (dqgate.check)",
            param="store",
        )
    from dqgate.store.layout import dataset_layout
    from dqgate.store.publish import list_versions, load_manifest

    try:
        layout = dataset_layout(store, contract.dataset)
        versions = list_versions(store, contract.dataset) if layout.exists() else []
        if not versions:
            if reference == "latest":
                return None, f"no reference yet: '{contract.dataset}' has no published version in {store}; drift is measured from the first publish on"
            return None, f"version {reference} of '{contract.dataset}' does not exist in {store} (no versions)"
        manifest = load_manifest(store, contract.dataset, reference)
    except DqError as exc:
        return None, str(exc)
    source = f"{contract.dataset}@{manifest.version}"
    profile = manifest.profile
    if not profile or not profile.get("columns"):
        return None, f"{source} keeps no profile (published without one), so drift cannot be measured against it"
    if int(profile.get("rows") or 0) != manifest.rows:
        source += f" (profile of {profile.get('rows')} of its {manifest.rows} rows)"
    return profile, source


def _where(contract: Contract) -> str:
    """``flights.yaml:40: `` for the contract's ``drift: reference:`` line."""
    line = contract.line_of(("drift", "reference")) or contract.line_of(("drift",))
    return f"{contract.path}:{line}: " if contract.path and line else (f"{contract.path}: " if contract.path else "")


def _file_profile(path: str, base_dir: str | None, columns: set[str], contract: Contract, where: str | None = None) -> tuple[dict[str, Any] | None, str]:
    """The profile of a reference data file; a file that is missing or unreadable stops the
    check (exit 2, one line), as a missing ``source:`` does: no drift rule could run."""
    import duckdb
    from sqlglot import exp

    from dqgate.contract.sql import parse_expression
    from dqgate.runners import sources

    resolved = sources.resolve_path(path, base_dir)
    con = duckdb.connect(":memory:")
    view = "__dq_reference"
    try:
        con.execute("SET enable_progress_bar = false")
        sources.register(con, resolved, view)
        if where is not None:  # the same rows of the reference as of the batch (vetted SQL)
            rows = exp.select("*").from_(exp.to_table(view, quoted=True)).where(parse_expression(where))
            create = exp.Create(this=exp.to_table(f"{view}_where", quoted=True), kind="VIEW", expression=rows)
            con.execute(create.sql("duckdb"))
            view = f"{view}_where"
        profile, _ = prof.profile_view(con, view, knots_for=columns)
    except DqError as exc:
        raise DataError(f"{_where(contract)}drift reference: {exc}", uri=resolved) from None
    except duckdb.Error as exc:  # the rule's where: failed on the reference (the rule reports it)
        return None, f"reference file {path}: where: {str(exc).splitlines()[0]}"
    finally:
        con.close()
    return profile, path if where is None else f"{path} where {where}"


@dataclass(frozen=True)
class BatchProfile:
    """The profile of rows about to be published, counted at the knots ``knots_at`` (the parent's),
    without what the parent settles (``into``, :class:`~dqgate.stats.profile.MergeInto`)."""

    profile: dict[str, Any]
    knots_at: dict[str, list[float]]
    into: prof.MergeInto = prof.NOTHING

    def merges_into(self, parent: dict[str, Any] | None) -> bool:
        """Whether this profile merges exactly into ``parent`` (a racer may have published
        another parent since it was taken): it was taken for that parent's knots and extremes."""
        return self.knots_at == prof.knots_of(parent) and self.into == prof.merge_into(parent)


def profile_batch(con: duckdb.DuckDBPyConnection, view: str, store: str, contract: Contract, *, mode: str,
                  extra_first: list[Any] | None = None, first: FirstPass | None = None) -> tuple[BatchProfile, dict[str, Any]]:  # fmt: skip
    """The profile of the rows in ``view`` that :func:`snapshot_profile` merges with the parent's,
    and the raw values of ``extra_first`` (more aggregates computed in the same statement: an
    append computes its snapshot state there, so the batch is scanned once for both).

    ``first``: the first statement already computed over the same rows by another scan
    (:func:`first_pass`; an ingest's check carries it), so only the second one runs here."""
    if first is not None and first.values is not None:
        knots_at, into = first.knots_at, first.into
        batch, raw = prof.profile_view(con, view, knots_for=_drift_columns(contract), knots_at=knots_at, first=first.values, into=into)
        return BatchProfile(batch, knots_at, into), raw
    parent = _latest_profile(store, contract.dataset) if mode == "append" else None
    knots_at, into = prof.knots_of(parent), prof.merge_into(parent)
    batch, raw = prof.profile_view(con, view, knots_for=_drift_columns(contract), knots_at=knots_at, extra_first=extra_first, into=into)
    return BatchProfile(batch, knots_at, into), raw


@dataclass
class FirstPass:
    """The first statement of a batch's profile (plus more aggregates), for another statement
    over the same rows to carry: ``aggregates`` built at the parent's knots ``knots_at``, without
    what the parent settles (``into``); ``values`` filled by whoever ran them (None: they were
    not run, profile as usual)."""

    knots_at: dict[str, list[float]]
    aggregates: list[Any]
    values: dict[str, Any] | None = None
    into: prof.MergeInto = prof.NOTHING


def first_pass(con: duckdb.DuckDBPyConnection, view: str, store: str, contract: Contract, *, mode: str,
               extra: list[Any] | None = None) -> FirstPass:  # fmt: skip
    """The first statement :func:`profile_batch` would run over ``view`` (with ``extra``), unrun."""
    parent = _latest_profile(store, contract.dataset) if mode == "append" else None
    knots_at, into = prof.knots_of(parent), prof.merge_into(parent)
    types = prof.view_types(con, view)
    aggregates = prof.first_aggregates(types, knots_at=knots_at, knots_for=_drift_columns(contract), into=into)
    return FirstPass(knots_at, [*aggregates, *(extra or [])], into=into)


def snapshot_profile(con: duckdb.DuckDBPyConnection, view: str, store: str, contract: Contract, *, mode: str,
                     batch: BatchProfile | None = None) -> dict[str, Any]:  # fmt: skip
    """The profile of the version about to be published from the rows in ``view``.

    Knots are kept for the contract's drift columns (and those the parent has). On
    append the profile is the exact merge of the parent's profile and the batch's, the
    batch being counted at the parent's knots; a parent without a profile makes the
    result cover the batch only, which readers detect from its row count. ``batch``:
    the rows' profile computed earlier (:func:`profile_batch`), used unless a racer has
    published a parent it does not merge into exactly meanwhile (:meth:`BatchProfile.merges_into`).
    """
    parent = _latest_profile(store, contract.dataset) if mode == "append" else None
    if batch is None or not batch.merges_into(parent):
        batch, _ = profile_batch(con, view, store, contract, mode=mode)
    return prof.merge(parent, batch.profile) if parent else batch.profile


def _drift_columns(contract: Contract) -> set[str]:
    return set(contract.model.drift.columns) if contract.model.drift else set()  # names, either form


def _latest_profile(store: str, dataset: str) -> dict[str, Any] | None:
    from dqgate.store.layout import dataset_layout
    from dqgate.store.publish import list_versions, load_manifest

    if not dataset_layout(store, dataset).exists() or not list_versions(store, dataset):
        return None
    return load_manifest(store, dataset, "latest").profile

