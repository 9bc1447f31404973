"""The pure drift statistics against scipy and numpy, on random and adversarial counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from dqgate.stats import drift as d


@pytest.mark.parametrize("dof", [1, 2, 3, 7, 30, 200])
def test_chi2_sf_matches_scipy(dof: int) -> None:
    for x in [0.0, 1e-6, 0.3, 1.0, dof - 0.5, dof, dof + 3.0, 2.5 * dof + 10, 400.0]:
        assert d.chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-9, abs=1e-14)


def test_category_statistics_match_scipy_on_random_counts() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        k = int(rng.integers(1, 12))
        ref = rng.integers(0, 50, k)
        cur = rng.integers(0, 50, k)
        if k > 1 and rng.random() < 0.4:  # categories on one side only
            ref[0], cur[-1] = 0, 0
        ref[-1] += 1  # neither side empty
        cur[0] += 1
        both = (ref + cur) > 0
        p, q = ref / ref.sum(), cur / cur.sum()
        assert d.js(ref.tolist(), cur.tolist()) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)
        assert d.linf(ref.tolist(), cur.tolist()) == pytest.approx(np.abs(p - q).max(), abs=1e-15)
        table = np.vstack([ref[both], cur[both]])
        expected = 1.0 if table.shape[1] < 2 else stats.chi2_contingency(table, correction=False).pvalue
        assert d.chi2(ref.tolist(), cur.tolist())[0] == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_psi_replaces_empty_shares_by_1e_4_without_renormalising() -> None:
    # ref everything in bin 0, batch everything in bin 1: 2 * (1 - 1e-4) * ln(1e4)
    assert d.psi([10, 0], [0, 5]) == pytest.approx(2 * (1 - 1e-4) * math.log(1e4), rel=1e-12)
    assert d.psi([3, 3, 3], [1, 1, 1]) == 0.0
    r, c = np.array([5, 1, 4]), np.array([2, 6, 2])
    rs, cs = r / r.sum(), c / c.sum()
    assert d.psi(r.tolist(), c.tolist()) == pytest.approx(float(np.sum((cs - rs) * np.log(cs / rs))), rel=1e-12)


def test_ks_from_points_is_exact_on_the_reference_support() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        ref = rng.integers(-5, 6, int(rng.integers(1, 60)))
        cur = rng.integers(-7, 8, int(rng.integers(1, 60))) + rng.choice([0.0, 0.5], 1)[0]
        values, counts = np.unique(ref, return_counts=True)
        reference = d.Reference(n=len(ref), numeric=True, values=tuple(zip(values.tolist(), counts.tolist())))
        le = [int((cur <= v).sum()) for v in values]
        eq = [int((cur == v).sum()) for v in values]
        stat, upper = d.ks_from_points(reference, le, eq, len(cur))
        assert stat == pytest.approx(stats.ks_2samp(ref, cur).statistic, abs=1e-12)
        assert upper == stat


def test_ks_over_knots_brackets_the_true_statistic() -> None:
    rng = np.random.default_rng(11)
    for _ in range(25):
        ref = rng.normal(0, 1, 3000)
        cur = rng.normal(rng.normal(0, 0.3), rng.uniform(0.7, 1.4), 2000)
        knots = np.unique(np.concatenate([np.quantile(rng.choice(ref, 300), np.linspace(0, 1, 41)), [ref.min(), ref.max()]]))
        ref_le = np.searchsorted(np.sort(ref), knots, side="right")
        reference = d.Reference(n=len(ref), numeric=True, knots=tuple(zip(knots.tolist(), ref_le.tolist())))
        le = np.searchsorted(np.sort(cur), knots, side="right").tolist()
        lo, hi = d.ks_from_points(reference, le, [0] * len(knots), len(cur))
        true = stats.ks_2samp(ref, cur).statistic
        assert lo - 1e-12 <= true <= hi + 1e-12
        assert hi - lo < 0.1  # the bound is useful: about two knot cells of mass


def test_edges_are_inverted_cdf_quantiles_deduplicated() -> None:
    rng = np.random.default_rng(5)
    for bins in (2, 3, 10, 17):
        ref = rng.integers(0, 9, 500)
        values, counts = np.unique(ref, return_counts=True)
        reference = d.Reference(n=len(ref), numeric=True, values=tuple(zip(values.tolist(), counts.tolist())))
        expected = np.unique(np.quantile(ref, [k / bins for k in range(1, bins)], method="inverted_cdf"))
        assert d.edges(reference, bins) == expected.tolist()
        binned = np.bincount(np.searchsorted(expected, ref, side="left"), minlength=len(expected) + 1)
        assert d.reference_bins(reference, expected.tolist()) == binned.tolist()
