"""Shared helpers of the drift tests: write data, run a check, compute the oracles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats
from scipy.spatial.distance import jensenshannon


def write(path: Path, columns: dict[str, Any]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def contract_text(columns: dict[str, str], drift: dict[str, str], reference: str = "latest") -> str:
    cols = "\n".join(f"    {name}: {{type: {typ}}}" for name, typ in columns.items())
    rules = "\n".join(f"    {name}: {spec}" for name, spec in drift.items())
    return f"dataset: dr\nschema:\n  columns:\n{cols}\ndrift:\n  reference: {reference!r}\n  columns:\n{rules}\n"


def observed(result: Any) -> dict[str, Any]:
    return {c.id: c for c in result.checks}


def psi_oracle(ref: np.ndarray, cur: np.ndarray, bins: int = 10) -> float:
    """PSI over the reference's inverted-CDF quantile edges, bins closed on the right."""
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    edges = np.unique(np.quantile(ref, [k / bins for k in range(1, bins)], method="inverted_cdf"))
    return psi_with_edges(ref, cur, edges)


def psi_with_edges(ref: np.ndarray, cur: np.ndarray, edges: np.ndarray) -> float:
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1) / len(cur)
    r, c = np.where(r == 0, 1e-4, r), np.where(c == 0, 1e-4, c)
    return float(np.sum((c - r) * np.log(c / r)))


def category_shares(ref: list[Any], cur: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    keys = sorted({v for v in ref + cur if v is not None}, key=str)
    r = np.array([sum(1 for v in ref if v == k) for k in keys], dtype=float)
    c = np.array([sum(1 for v in cur if v == k) for k in keys], dtype=float)
    return r, c, r / r.sum(), c / c.sum()


def js_oracle(ref: list[Any], cur: list[Any]) -> float:
    _, _, p, q = category_shares(ref, cur)
    return float(jensenshannon(p, q, base=2))


def linf_oracle(ref: list[Any], cur: list[Any]) -> float:
    _, _, p, q = category_shares(ref, cur)
    return float(np.abs(p - q).max())


def chi2_oracle(ref: list[Any], cur: list[Any]) -> float:
    r, c, _, _ = category_shares(ref, cur)
    if len(r) < 2:
        return 1.0
    return float(stats.chi2_contingency(np.vstack([r, c]), correction=False).pvalue)


def psi_categories_oracle(ref: list[Any], cur: list[Any]) -> float:
    _, _, p, q = category_shares(ref, cur)
    p, q = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
    return float(np.sum((q - p) * np.log(q / p)))


def ks_oracle(ref: Any, cur: Any) -> float:
    """scipy's two-sample KS statistic. Only the statistic is compared; scipy's p-value
    (which warns on tiny or tied samples, an error under this suite's filterwarnings)
    is computed alongside it and ignored."""
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ks_2samp(ref, cur).statistic)
