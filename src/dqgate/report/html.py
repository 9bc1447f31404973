"""One self-contained HTML file: a check's result and, with a store, the dataset's history.

The page has no script and loads nothing: styles are inline and charts are SVG
drawn by matplotlib (``report/charts.py``), so it opens offline, in a mail client's
preview or a CI artefact viewer, and shows the same thing everywhere. Every number
that also is in the result JSON sits in an element with a ``data-field`` attribute,
so tests (and scrapers) can read it back without parsing prose.

Failures come first; each rule shows its samples and the part of the fused DuckDB
statement that computes it (``dq explain`` shows the whole statement).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING, Any

from dqgate.report.console import expected_text, observed_text, ordered

if TYPE_CHECKING:
    from dqgate.contract import Contract
    from dqgate.ir.nodes import Rule
    from dqgate.ir.plan_cache import ContractRules
    from dqgate.report.dashboard import Dashboard
    from dqgate.runners.results import CheckResult, RunResult

_CSS = """
:root{--pass:#2e7d32;--warn:#ef8f00;--fail:#c62828;--error:#6a1b9a;--ink:#1d2330;--soft:#f4f6f9}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);margin:0;background:#fff}
main{max-width:1180px;margin:0 auto;padding:16px}h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}.pill{padding:4px 10px;border-radius:12px;background:var(--soft);white-space:nowrap}
.status{font-weight:700;text-transform:uppercase;color:#fff;padding:2px 8px;border-radius:4px;font-size:12px;display:inline-block}
.s-pass{background:var(--pass)}.s-warn{background:var(--warn)}.s-fail{background:var(--fail)}.s-error{background:var(--error)}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:5px 6px;border-bottom:1px solid #e6e9ef;vertical-align:top}
th{background:var(--soft);position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}pre{background:var(--soft);padding:8px;overflow-x:auto;margin:4px 0;white-space:pre-wrap;word-break:break-word}
details summary{cursor:pointer;color:#455a64}.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
figure{margin:0;border:1px solid #e6e9ef;border-radius:6px;padding:6px}figure.wide{max-width:760px}svg.chart{width:100%;height:auto}.muted{color:#607080}ul.samples{display:flex;flex-wrap:wrap;gap:4px 12px;list-style:none;padding:0;margin:2px 0}
@media (max-width:600px){main{padding:8px}th.opt,td.opt{display:none}h1{font-size:18px}}
"""


def write(path: str, result: RunResult | None, contract: Contract | ContractRules, *, store: str | None = None,
          batch: str | None = None, rules: tuple[Rule, ...] | None = None) -> None:  # fmt: skip
    """Write the report of ``result`` (and of ``store``'s history of the dataset) to ``path`` atomically;
    ``batch`` is the checked file, whose distributions the drift charts compare with the newest version.
    ``rules`` are the contract's planned rules (default: planned here from ``contract``)."""
    import os
    import tempfile

    if rules is None:
        from dqgate.ir.plan import plan

        rules = plan(contract)  # type: ignore[arg-type]
    board = None
    if store is not None:
        from dqgate.report.dashboard import gather

        board = gather(store, contract, rules, batch=batch)
    page = render(result, contract=contract, rules=rules, dashboard=board)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dq-report-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)  # a report is for sharing; mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render(result: RunResult | None, *, contract: Contract | ContractRules, rules: tuple[Rule, ...] = (), dashboard: Dashboard | None = None) -> str:
    """The report page of ``result`` (a check) and ``dashboard`` (a store's history); either may be None."""
    title = f"dqgate · {contract.dataset} {contract.version}"
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'>",
             f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>", f"<h1>{_e(title)}</h1>"]  # fmt: skip
    made = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"<p class='muted'>Report made {made} from contract <code>{_e(contract.path)}</code> (sha256 {_e(contract.sha256[:12])}…).</p>")
    if result is not None:
        parts.append(_result(result, rules))
    if dashboard is not None:
        parts.append(_dashboard(dashboard))
    parts.append("</main></body></html>")
    return "".join(parts)


def _result(result: RunResult, rules: tuple[Rule, ...]) -> str:
    counts = {s: sum(1 for c in result.checks if c.status == s) for s in ("fail", "error", "warn", "pass")}
    pills = "".join(f"<span class='pill'>{_e(s)}: <b data-field='count-{s}'>{n}</b></span>" for s, n in counts.items())
    out = [
        "<section id='result'><h2>Check result</h2>",
        f"<p><span class='status s-{_e(result.status)}' data-field='status'>{_e(result.status)}</span> "
        f"<code data-field='source'>{_e(result.source.get('uri'))}</code> · <b data-field='rows'>{result.rows}</b> rows · "
        f"<b data-field='checks'>{len(result.checks)}</b> checks · <span data-field='elapsed'>{result.elapsed_s:.2f}</span> s · {_e(result.engine)}</p>",
        f"<div class='summary'>{pills}</div>",
        "<div class='scroll'><table id='checks'><thead><tr><th>status</th><th>check</th><th>observed</th>"
        "<th class='opt'>expected</th><th class='num'>failed rows</th><th class='num opt'>of rows</th></tr></thead><tbody>",
    ]
    sql = _rule_sql(rules)
    for c in ordered(result.checks):
        out.append(_check_row(c, sql.get(c.id)))
    out.append("</tbody></table></div></section>")
    return "".join(out)


def _check_row(c: CheckResult, sql: str | None) -> str:
    failed = "" if c.failed_rows is None else str(c.failed_rows)
    total = "" if c.total_rows is None else str(c.total_rows)
    observed = "" if c.observed is None or isinstance(c.observed, (dict, list)) else repr(c.observed) if isinstance(c.observed, float) else str(c.observed)
    row = (f"<tr data-check='{_e(c.id)}' data-observed='{_e(observed)}'><td><span class='status s-{_e(c.status)}' data-field='check-status'>{_e(c.status)}</span></td>"
           f"<td><code>{_e(c.id)}</code><div class='muted'>{_e(c.rule)} · {_e(c.severity)}</div></td>"
           f"<td>{_e(observed_text(c))}</td><td class='opt'>{_e(expected_text(c))}</td>"
           f"<td class='num' data-field='failed-rows'>{failed}</td><td class='num opt' data-field='total-rows'>{total}</td></tr>")  # fmt: skip
    extra = []
    if c.message and c.status != "pass":
        extra.append(f"<div>{_e(c.message)}</div>")
    if c.sample:
        shown = "".join(f"<li><code>{_e(_sample(s))}</code></li>" for s in c.sample[:10])
        extra.append(f"<div>samples: <ul class='samples'>{shown}</ul></div>")
    if sql:
        extra.append(f"<details><summary>SQL</summary><pre>{_e(sql)}</pre></details>")
    if extra:
        row += f"<tr class='detail'><td></td><td colspan='5'>{''.join(extra)}</td></tr>"
    return row


def _sample(s: Any) -> str:
    if isinstance(s, dict):
        return "{" + ", ".join(f"{k}={v!r}" for k, v in s.items()) + "}"
    return repr(s)


def _rule_sql(rules: tuple[Rule, ...]) -> dict[str, str]:
    """Each rule's select items in the fused DuckDB statement (and its sample query), by rule id."""
    if not rules:
        return {}
    from dqgate.compilers.duckdb import compile_plan
    from dqgate.errors import DqError
    from dqgate.ir.nodes import HISTORY_RULES

    from dqgate.ir.nodes import Drift

    try:
        plan = compile_plan(tuple(r for r in rules if not isinstance(r, (*HISTORY_RULES, Drift))), types={})
    except (DqError, ValueError, TypeError, KeyError):  # the SQL is a courtesy: never let it stop the report
        return {}
    items = {i.alias_or_name: i for i in plan.statement.expressions}
    out = {}
    for rule_id, names in plan.outputs.items():
        parts = [items[name].sql("duckdb", pretty=True) for name in names if name in items]
        if rule_id in plan.samples:
            parts.append("-- failing-row samples\n" + plan.samples[rule_id].sql("duckdb", pretty=True))
        if parts:
            out[rule_id] = ",\n".join(parts)
    return out


def _dashboard(board: Dashboard) -> str:
    from dqgate.report import charts

    out = [f"<section id='history'><h2>Versions of {_e(board.dataset)}</h2>"]
    if not board.versions:
        out.append("<p class='muted'>No published version yet.</p></section>")
        return "".join(out)
    vs = board.versions
    out.append(f"<p><b data-field='versions'>{len(vs)}</b> versions" + (f" (and {board.older} older, not shown)" if board.older else "") + "</p>")
    out.append(f"<figure class='wide'>{charts.timeline([v['version'] for v in vs], [v['rows'] for v in vs], [v['status'] for v in vs])}</figure>")
    out.append("<details><summary>every version</summary><div class='scroll'><table><thead><tr><th>version</th><th>created</th><th class='num'>rows</th>"
               "<th>status</th><th class='opt'>by</th><th>not passing</th></tr></thead><tbody>")  # fmt: skip
    for v in reversed(vs):
        out.append(f"<tr data-version='{v['version']}'><td>{v['version']}</td><td>{_e(v['created_at'])[:19]}</td><td class='num'>{v['rows']}</td>"
                   f"<td><span class='status s-{_e(v['status'])}'>{_e(v['status'])}</span></td><td class='opt'>{_e(v['created_by'])}</td>"
                   f"<td>{_e(', '.join(map(str, v['failed'])))}</td></tr>")  # fmt: skip
    out.append("</tbody></table></div></details></section>")
    if board.metrics:
        out.append("<section id='metrics'><h2>Metric history</h2><div class='charts'>")
        drawn = [s for s in board.metrics if s.values]
        svgs = charts.metric_histories([(s.id, s.versions, s.values, s.band, s.bounds) for s in drawn])
        for s, svg in zip(drawn, svgs):
            caption = f"anomaly band: {s.anomaly}" if s.anomaly else "no anomaly rule"
            out.append(f"<figure data-metric='{_e(s.id)}' data-last='{s.values[-1]!r}'>{svg}<figcaption class='muted'>{_e(caption)}</figcaption></figure>")
        out.append("</div></section>")
    if board.drift:
        out.append("<section id='drift'><h2>Drift</h2><div class='charts'>")
        for d in board.drift:
            svg = charts.drift_histogram(f"{d.column} ({d.method}), {d.reference}", d.labels, d.ref_share, d.batch_share)
            out.append(f"<figure data-drift='{_e(d.column)}'>{svg}</figure>")
        out.append("</div></section>")
    out.append(f"<section id='quarantine'><h2>Quarantined batches (<span data-field='quarantined'>{len(board.quarantine)}</span>)</h2>")
    if board.quarantine:
        out.append("<div class='scroll'><table><thead><tr><th>batch</th><th>when</th><th>outcome</th><th>reasons</th></tr></thead><tbody>")
        for q in reversed(board.quarantine):
            reasons = "".join(f"<li>{_e(r)}</li>" for r in q["reasons"]) or "<li class='muted'>no report</li>"
            out.append(f"<tr data-batch='{_e(q['batch_id'])}'><td><code>{_e(q['batch_id'][:16])}</code></td><td>{_e(q['modified'])}</td>"
                       f"<td>{_e(q['outcome'] or q['status'])}</td><td><ul>{reasons}</ul></td></tr>")  # fmt: skip
        out.append("</tbody></table></div>")
    out.append("</section>")
    out.append(f"<section id='lineage'><h2>Lineage (<span data-field='reads'>{len(board.lineage)}</span> reads)</h2>")
    if board.lineage:
        out.append("<div class='scroll'><table><thead><tr><th>consumer</th><th>version</th><th>when</th><th class='opt'>host</th></tr></thead><tbody>")
        for rec in reversed(board.lineage):
            out.append(f"<tr><td>{_e(rec.get('consumer'))}</td><td>{_e(rec.get('version'))}</td><td>{_e(rec.get('time'))}</td><td class='opt'>{_e(rec.get('host'))}</td></tr>")
        out.append("</tbody></table></div>")
    out.append("</section>")
    return "".join(out)
