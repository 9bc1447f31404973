"""Drift statistics between a reference distribution and a batch, from counts alone. Pure.

The reference side is a :class:`Reference` built from a stored profile (see
:mod:`dqgate.stats.profile`): either the exact distribution of its non-null values (at most
``profile.EXACT_CAP`` distinct values, stored as ``(value, count)``) or, for a
numeric column with more distinct values, *knots*: points with the exact number of
reference values ``<=`` each point. The batch side is whatever the engine
counted in the same scan as the other rules: bin counts over the reference's edges,
the counts at the reference's points, or category counts. Nothing here touches data.

The formulas are in ``docs/drift.md``; each function says which one it computes.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Sequence

EPS = 1e-4  # the share that replaces an empty bin in PSI


@dataclass(frozen=True)
class Reference:
    """The reference side of a drift rule: one column of a published snapshot or a file.

    ``values`` is the exact distribution (sorted by value when ``numeric``);
    ``knots`` (numeric only) are ``(point, count <= point)``.
    Exactly one of the two is set. ``n`` is the number of non-null values.
    """

    n: int
    numeric: bool
    values: tuple[tuple[Any, int], ...] | None = None
    knots: tuple[tuple[float, int], ...] | None = None
    source: str = ""

    @property
    def exact(self) -> bool:
        return self.values is not None


@dataclass(frozen=True)
class BatchQuery:
    """What the engine must count over the batch for one drift rule.

    ``kind`` is ``bins`` (counts ``<=`` each edge, then the non-null count),
    ``points`` (counts ``<=`` each point, and ``==`` each point when ``equal``) or
    ``categories`` (the count of every value).
    """

    kind: str
    points: tuple[float, ...] = ()
    equal: bool = False


def mode(method: str, ref: Reference) -> str:
    """How a rule compares distributions: ``bins``, ``points`` or ``categories``.

    PSI and KS on a numeric reference use bins and points. The category methods use
    exact values when the reference has them; over a numeric reference with knots they
    use the PSI bins (a continuous column has no categories to compare).
    """
    if method == "ks":
        return "points"
    if method == "psi" and ref.numeric:
        return "bins"
    if ref.values is None:
        return "bins"
    return "categories"


def batch_query(method: str, bins: int, ref: Reference) -> BatchQuery:
    """What the batch side of a rule needs counted, given the reference."""
    kind = mode(method, ref)
    if kind == "bins":
        return BatchQuery("bins", tuple(edges(ref, bins)))
    if kind == "points":
        return BatchQuery("points", tuple(float(p) for p, _, _ in _cumulative(ref)), equal=ref.exact)
    return BatchQuery("categories")


def _cumulative(ref: Reference) -> list[tuple[float, int, int]]:
    """``(point, count <= point, count == point)`` of the reference, ascending."""
    if ref.knots is not None:
        return [(float(p), int(le), 0) for p, le in ref.knots]
    out, running = [], 0
    for value, count in ref.values or ():
        running += int(count)
        out.append((float(value), running, int(count)))
    return out


def edges(ref: Reference, bins: int) -> list[float]:
    """Bin edges from the reference's quantiles at ``k/bins`` (k = 1..bins-1), deduplicated.

    The quantile at level q is the smallest reference point whose cumulative share is
    at least q (numpy's ``inverted_cdf``); over knots this is the smallest knot that
    reaches q, so the reference's count in every bin is exact either way.
    """
    cum = _cumulative(ref)
    if not cum or ref.n == 0:
        return []
    points = [p for p, _, _ in cum]
    shares = [le for _, le, _ in cum]
    out: list[float] = []
    for k in range(1, bins):
        need = k * ref.n / bins
        i = bisect.bisect_left(shares, need - 1e-9 * ref.n)
        edge = points[min(i, len(points) - 1)]
        if not out or edge > out[-1]:
            out.append(edge)
    return out


def reference_bins(ref: Reference, cuts: Sequence[float]) -> list[int]:
    """Reference counts in ``(-inf, c1], (c1, c2], ..., (ck, inf)``; every cut is a reference point."""
    at = {p: le for p, le, _ in _cumulative(ref)}
    below = [at[c] for c in cuts]
    return [b - a for a, b in zip([0, *below], [*below, ref.n])]


def batch_bins(cumulative: Sequence[int]) -> list[int]:
    """Batch counts per bin from its counts ``<=`` each edge followed by its non-null count."""
    cum = [int(c or 0) for c in cumulative]
    return [b - a for a, b in zip([0, *cum[:-1]], cum)]


def psi(ref_counts: Sequence[int], cur_counts: Sequence[int]) -> float:
    """Population stability index: sum over bins of (c - r) ln(c / r), shares of 0 replaced by 1e-4."""
    r_total, c_total = sum(ref_counts), sum(cur_counts)
    total = 0.0
    for r, c in zip(ref_counts, cur_counts):
        rs = r / r_total if r else EPS
        cs = c / c_total if c else EPS
        total += (cs - rs) * math.log(cs / rs)
    return total


def ks_from_points(ref: Reference, le: Sequence[int], eq: Sequence[int], m: int) -> tuple[float, float]:
    """(statistic, upper bound) of the two-sample KS statistic sup |F_ref - F_batch|.

    ``le[i]``/``eq[i]`` are the batch's counts ``<=`` / ``==`` the i-th reference
    point and ``m`` its non-null count. Both empirical CDFs are step functions, and
    between two consecutive points of the reference's support F_ref is constant while
    F_batch only grows, so the supremum is reached at a support point or just left of
    one: evaluated there, the statistic is exact (equal to ``scipy.stats.ks_2samp``)
    and the bound equals it. Over knots the same evaluation is a lower bound, and the
    second number bounds the statistic from above using the monotonicity of both CDFs
    between knots (there ``eq`` is all zeros: no equal counts are kept or needed).
    """
    cum = _cumulative(ref)
    n = ref.n
    best = 0.0
    upper = 0.0
    prev_r, prev_c = 0.0, 0.0  # F at the previous point (0 before the first)
    for (_, r_le, r_eq), c_le, c_eq in zip(cum, le, eq):
        r_at, r_left = r_le / n, (r_le - r_eq) / n
        c_at, c_left = c_le / m, (c_le - c_eq) / m
        best = max(best, abs(r_at - c_at), abs(r_left - c_left))
        upper = max(upper, r_left - prev_c, c_left - prev_r, abs(r_at - c_at))
        prev_r, prev_c = r_at, c_at
    upper = max(upper, 1.0 - prev_c, 1.0 - prev_r) if not ref.exact else best
    return best, max(best, upper)


def category_counts(ref: Reference, hist: dict[Any, int] | None) -> tuple[list[Any], list[int], list[int]]:
    """(keys, reference counts, batch counts) over the union of both sides' categories."""
    ref_map: dict[Any, int] = {}
    for value, count in ref.values or ():
        ref_map[norm_key(value)] = ref_map.get(norm_key(value), 0) + int(count)
    cur_map: dict[Any, int] = {}
    for value, count in (hist or {}).items():
        key = norm_key(value)
        cur_map[key] = cur_map.get(key, 0) + int(count)
    keys = list(ref_map) + [k for k in cur_map if k not in ref_map]
    return keys, [ref_map.get(k, 0) for k in keys], [cur_map.get(k, 0) for k in keys]


def norm_key(value: Any) -> Any:
    """One spelling per category on both sides: JSON-native values, dates as ISO text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "__float__"):
        return norm_key(float(value))
    return str(value)


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [c / total for c in counts]


def js(ref_counts: Sequence[int], cur_counts: Sequence[int]) -> float:
    """Jensen-Shannon distance, base 2: sqrt of the mean KL divergence of each side to their average."""
    p, q = _shares(ref_counts), _shares(cur_counts)
    div = 0.0
    for a, b in zip(p, q):
        mid = (a + b) / 2
        if a > 0:
            div += a * math.log2(a / mid) / 2
        if b > 0:
            div += b * math.log2(b / mid) / 2
    return math.sqrt(max(div, 0.0))


def linf(ref_counts: Sequence[int], cur_counts: Sequence[int]) -> float:
    """L-infinity distance of the category shares (TFDV's categorical drift)."""
    return max((abs(a - b) for a, b in zip(_shares(ref_counts), _shares(cur_counts))), default=0.0)


def chi2(ref_counts: Sequence[int], cur_counts: Sequence[int]) -> tuple[float, float, int]:
    """(p-value, statistic, degrees of freedom) of Pearson's chi-square test of homogeneity.

    The 2 x k table is reference counts over batch counts; no continuity correction.
    """
    n_r, n_c = sum(ref_counts), sum(cur_counts)
    total = n_r + n_c
    stat = 0.0
    k = 0
    for r, c in zip(ref_counts, cur_counts):
        col = r + c
        if col == 0:
            continue
        k += 1
        for observed, row in ((r, n_r), (c, n_c)):
            expected = row * col / total
            stat += (observed - expected) ** 2 / expected
    dof = k - 1
    return (chi2_sf(stat, dof) if dof > 0 else 1.0), stat, dof


def chi2_sf(x: float, dof: int) -> float:
    """P(X >= x) for X ~ chi-square(dof): the regularized upper incomplete gamma Q(dof/2, x/2)."""
    if x <= 0:
        return 1.0
    a, z = dof / 2.0, x / 2.0
    if z < a + 1:  # the series for P converges fast here
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= z / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(-z + a * math.log(z) - math.lgamma(a)))
    # Lentz's continued fraction for Q
    tiny = 1e-300
    b = z + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return min(1.0, math.exp(-z + a * math.log(z) - math.lgamma(a)) * h)


def statistic(method: str, ref_counts: Sequence[int], cur_counts: Sequence[int]) -> float:
    """The drift value of a bins- or category-based method over aligned counts."""
    if method == "psi":
        return psi(ref_counts, cur_counts)
    if method == "js":
        return js(ref_counts, cur_counts)
    if method == "linf":
        return linf(ref_counts, cur_counts)
    if method == "chi2":
        return chi2(ref_counts, cur_counts)[0]
    raise ValueError(method)
