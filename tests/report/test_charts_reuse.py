"""The metric charts of a store report are drawn on one figure emptied between charts
(report/charts.py: building an axes and its ticks is a fifth of a chart): each SVG must
be byte for byte the one a fresh figure draws, whatever the charts before it drew."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dqgate.report import charts

_value = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def _series(draw: st.DrawFn) -> tuple[str, list[int], list[float], list[tuple[float, float] | None], tuple[float | None, float | None]]:
    n = draw(st.integers(min_value=1, max_value=charts.MARKED_POINTS + 10))  # with markers and without
    start = draw(st.integers(min_value=1, max_value=500))
    values = draw(st.one_of(st.lists(_value, min_size=n, max_size=n), _value.map(lambda v: [v] * n)))  # a flat line too
    band: list[tuple[float, float] | None] = []
    for v in values:
        width = draw(st.one_of(st.none(), st.floats(min_value=0, max_value=1e3)))
        band.append(None if width is None else (v - width, v + width))
    near = values[0] + draw(st.floats(min_value=-10, max_value=10))
    bounds = (draw(st.sampled_from([None, near, -1e9])), draw(st.sampled_from([None, near + 1, 1e9])))  # near, far, none
    return draw(st.sampled_from(["mean_x", "row_count", "q90"])), list(range(start, start + n)), values, band, bounds


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_series(), min_size=2, max_size=4))
def test_charts_drawn_in_turn_on_one_figure_equal_fresh_ones(series: list) -> None:
    fresh = [charts.metric_history(title, versions, values, band, bounds=bounds) for title, versions, values, band, bounds in series]
    assert charts.metric_histories(series) == fresh
