"""Metric history: each published version's observed metric values, and the scores rules take of them.

Every manifest keeps the check results of the batch it published (``checks``), so
the history of a metric is the ``observed`` value of its id across versions, oldest
first. Versions where the metric had no value (or did not exist) are skipped.

Rules against history (``change:`` and ``anomaly:`` on a metric check) are decided
after the query, from the run's own value and the store:

* ``change: {max: r}``: ``|x - prev| / |prev| <= r`` against the newest published
  value (``prev = 0``: 0 when ``x = 0``, else infinite);
* ``anomaly: {method: zscore, window: N, max: k}``: ``|x - mean| / stdev <= k`` over
  the last N values (sample standard deviation); ``mad``: ``|x - median| /
  (1.4826 * MAD) <= k``. A spread of 0 gives 0 when ``x`` equals the centre, else
  infinity. Fewer than 3 values: the rule passes and says so.

Without a store the rules report ``error`` ("needs --store"). A metric with ``by:``
gets one history rule result per group (``mean(x)[region=EU].change``).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

MIN_POINTS = 3


def series(store: str, dataset: str, metric_id: str | None = None, *, last: int | None = None) -> list[dict[str, Any]]:
    """``[{version, created_at, values: {metric id: observed}}]``, oldest first.

    Args:
        store: the snapshot store.
        dataset: the dataset name.
        metric_id: keep only this id (and its slices, ``id[...]``).
        last: read only the newest ``last`` versions.

    Raises:
        StoreError: the store or dataset does not exist.
    """
    from dqgate.store.layout import dataset_layout, require_dataset  # pyarrow, only when a store is read
    from dqgate.store.publish import list_versions, load_manifest

    require_dataset(dataset_layout(store, dataset))
    versions = list_versions(store, dataset)
    if last is not None:
        versions = versions[-last:]
    out = []
    for version in versions:
        manifest = load_manifest(store, dataset, version)
        values = {}
        checks = manifest.checks or {}
        checks = checks.get("batch") or checks  # an append records the snapshot's results; history is per batch
        for check in checks.get("checks") or []:
            cid = check.get("id")
            if not isinstance(cid, str) or not isinstance(check.get("observed"), (int, float)) or isinstance(check.get("observed"), bool):
                continue
            if metric_id is None or is_value_of(cid, metric_id):
                values[cid] = check["observed"]
        out.append({"version": version, "created_at": manifest.created_at, "values": values})
    return out


def is_value_of(cid: str, metric_id: str) -> bool:
    """Whether result id ``cid`` is metric ``metric_id`` or one of its slices (``id[...]``)."""
    return cid == metric_id or (cid.startswith(metric_id + "[") and cid.endswith("]"))


def anomaly_score(value: float, past: list[float], method: str) -> tuple[float, float]:
    """(score, centre) of ``value`` against ``past`` by ``zscore`` or ``mad``."""
    if method == "zscore":
        centre, spread = statistics.fmean(past), statistics.stdev(past)
    else:
        centre = statistics.median(past)
        spread = 1.4826 * statistics.median(abs(x - centre) for x in past)
    if spread == 0:
        return (0.0 if value == centre else math.inf), centre
    return abs(value - centre) / spread, centre


def past_values(store: str, dataset: str, cid: str, window: int, cache: dict[int, list[dict[str, Any]]]) -> list[float]:
    """The newest ``window`` published values of ``cid``, oldest first."""
    from dqgate.store.layout import dataset_layout

    if not dataset_layout(store, dataset).exists():
        return []
    if 0 not in cache:
        cache[0] = series(store, dataset)
    values = [p["values"][cid] for p in cache[0] if cid in p["values"]]
    return [float(v) for v in values[-window:]]
