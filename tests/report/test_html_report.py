"""The HTML report in a real headless Chromium: it loads with no console error and no network
request, its numbers are the result JSON's, and screenshots at 1280 and 390 px are kept."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from cdp import Browser, artifacts_dir, chromium
from report_helpers import CONTRACT, batch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def browser() -> Any:
    binary = chromium()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (scripts/test.sh installs Debian's chromium package)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    b = Browser(binary)
    yield b
    b.close()


def _report(run_cli: Any, tmp_path: Path, contract: Path, store: Path, data: Path) -> tuple[Path, dict[str, Any]]:
    page = tmp_path / "report.html"
    code, _, err = run_cli("report", contract, "--data", data, "--store", store, "-o", page)
    assert code in (0, 1), err
    code, out, _ = run_cli("check", contract, "--data", data, "--store", store, "--format", "json")
    return page, json.loads(out)


def test_page_loads_offline_and_shows_the_result_json(browser: Browser, store_with_history: Any, run_cli: Any, tmp_path: Path) -> None:
    contract, store, _ = store_with_history
    data = batch(tmp_path / "new.parquet", 60, bad=True)
    page, result = _report(run_cli, tmp_path, contract, store, data)
    assert page.stat().st_size < 2_000_000
    text = page.read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text), "the page must load nothing"
    assert "<script" not in text
    seen = browser.load(page.as_uri())
    assert seen.console_errors == []
    assert seen.requests == [page.as_uri()]  # the page itself and nothing else
    shown = browser.evaluate("""(() => {
        const f = n => { const e = document.querySelector(`[data-field='${n}']`); return e && e.textContent; };
        const rows = [...document.querySelectorAll('#checks tr[data-check]')].map(tr => ({
            id: tr.dataset.check, observed: tr.dataset.observed,
            status: tr.querySelector("[data-field='check-status']").textContent,
            failed: tr.querySelector("[data-field='failed-rows']").textContent,
            total: tr.querySelector("[data-field='total-rows']").textContent}));
        return {status: f('status'), rows: f('rows'), checks: f('checks'), fail: f('count-fail'), warn: f('count-warn'),
                pass: f('count-pass'), versions: f('versions'), quarantined: f('quarantined'), reads: f('reads'), table: rows,
                charts: document.querySelectorAll('figure svg').length,
                drift: [...document.querySelectorAll('figure[data-drift]')].map(e => e.dataset.drift),
                metrics: [...document.querySelectorAll('figure[data-metric]')].map(e => e.dataset.metric)};
    })()""")
    assert shown["status"] == result["status"] == "fail"
    assert int(shown["rows"]) == result["source"]["rows"]
    assert int(shown["checks"]) == len(result["checks"])
    for status in ("fail", "warn", "pass"):
        assert int(shown[status]) == sum(c["status"] == status for c in result["checks"])
    by_id = {c["id"]: c for c in result["checks"]}
    assert [r["id"] for r in shown["table"]][: shown["fail"] and int(shown["fail"])] == [c["id"] for c in result["checks"] if c["status"] == "fail"]
    for row in shown["table"]:
        check = by_id[row["id"]]
        assert row["status"] == check["status"]
        assert row["failed"] == ("" if check.get("failed_rows") is None else str(check["failed_rows"]))
        assert row["total"] == ("" if check.get("total_rows") is None else str(check["total_rows"]))
        if isinstance(check.get("observed"), (int, float)) and not isinstance(check.get("observed"), bool):
            assert float(row["observed"]) == pytest.approx(check["observed"], rel=1e-12)
    assert int(shown["versions"]) == 8 and int(shown["quarantined"]) == 1 and int(shown["reads"]) == 2
    assert sorted(shown["drift"]) == ["cat", "x"] and {"mean_x", "row_count"} <= set(shown["metrics"])
    assert shown["charts"] >= 5
    folder = artifacts_dir(ROOT)
    for width in (1280, 390):
        shot = folder / f"report-{width}.png"
        browser.screenshot(width, shot)
        assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert browser.evaluate("document.documentElement.scrollWidth") <= width + 1  # nothing wider than the screen


def test_anomaly_band_is_drawn_where_the_rule_has_history(store_with_history: Any, tmp_path: Path) -> None:
    from dqgate.contract import load_contract
    from dqgate.ir.plan import plan
    from dqgate.report.dashboard import gather

    contract, store, _ = store_with_history
    c = load_contract(str(contract))
    board = gather(str(store), c, plan(c))
    series = next(s for s in board.metrics if s.id == "mean_x")
    assert series.versions == list(range(1, 9)) and series.anomaly == "zscore, window 5, max 3"
    assert series.band[:3] == [None, None, None]  # fewer than 3 earlier values: no band
    import statistics

    past = series.values[3:8][-5:]
    lo, hi = series.band[-1] or (0, 0)
    window = series.values[-6:-1]
    assert lo == pytest.approx(statistics.fmean(window) - 3 * statistics.stdev(window))
    assert hi == pytest.approx(statistics.fmean(window) + 3 * statistics.stdev(window))
    assert past  # the values exist
    reasons = board.quarantine[0]["reasons"]
    assert any(r.startswith("x.range: fail") for r in reasons) and any(r.startswith("cat.in: fail") for r in reasons)


def test_ingest_writes_the_report_of_its_batch(store_with_history: Any, run_cli: Any, tmp_path: Path) -> None:
    contract, store, _ = store_with_history
    page = tmp_path / "ingest.html"
    code, _, err = run_cli("ingest", contract, batch(tmp_path / "n.parquet", 9), "--store", store, "--report", page)
    assert code == 0, err
    text = page.read_text()
    assert "data-field='status'>pass<" in text and "data-field='versions'>9<" in text
    assert oct(page.stat().st_mode & 0o777) == "0o644"


def test_check_report_without_store_has_no_charts(run_cli: Any, tmp_path: Path, store_with_history: Any) -> None:
    _, _, data = store_with_history
    contract = tmp_path / "no-store.yaml"  # drift against `latest` and history rules need the store
    contract.write_text(CONTRACT.split("drift:")[0].replace("    anomaly: {method: zscore, window: 5, max: 3}\n", "") + "gate:\n  on_failure: quarantine_batch\n")
    page = tmp_path / "check.html"
    code, _, err = run_cli("check", contract, "--data", data, "--report", page)
    assert code in (0, 1), err
    text = page.read_text()
    assert "<svg" not in text and "id='history'" not in text and "data-field='status'>" in text
    assert "SUM(CASE" in text.upper() or "COUNT_IF" in text.upper()  # each rule's SQL is shown


def test_a_report_folder_that_does_not_exist_is_refused_before_the_check(run_cli: Any, store_with_history: Any, tmp_path: Path) -> None:
    contract, store, data = store_with_history
    for args in (("check", contract, "--data", data, "--report", tmp_path / "nope" / "r.html"),
                 ("report", contract, "--data", data, "-o", tmp_path / "nope" / "r.html"),
                 ("ingest", contract, data, "--store", tmp_path / "wh2", "--report", tmp_path / "nope" / "r.html")):  # fmt: skip
        code, out, err = run_cli(*args)
        assert code == 2 and out == "" and "does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "wh2").exists()  # nothing was ingested
