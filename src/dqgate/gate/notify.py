"""Alerts: POST a JSON summary of a failed (or warned) check to a webhook.

The body is Slack-compatible (a ``text`` line a Slack, Teams or Mattermost incoming
webhook shows as it is) plus ``dqgate``: the result JSON's summary (contract, source,
status, counts, the checks that did not pass). Delivery is best effort and bounded:
each attempt has a timeout, failures are retried with exponential backoff, and when
the alert cannot be delivered :func:`notify` returns one warning line instead of
raising. The gate's decision and the exit code never depend on the webhook.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dqgate.runners.results import RunResult

BACKOFF_S = 0.5
"""The first retry waits this long; each next one twice as long (capped at 8 s)."""


@dataclass(frozen=True)
class Target:
    """One webhook and when it fires."""

    url: str
    on: tuple[str, ...] = ("fail",)
    timeout: float = 5.0
    retries: int = 3
    backoff: float = BACKOFF_S


def targets(contract_notify: Any, urls: tuple[str, ...] = (), *, on_warn: bool = False) -> list[Target]:
    """The contract's ``notify:`` plus the ``--notify`` URLs (which fire on fail, and on warn with ``on_warn``)."""
    found = []
    if contract_notify is not None:
        n = contract_notify
        found.append(Target(n.url, tuple(n.on), float(n.timeout), int(n.retries)))
    for url in urls:
        found.append(Target(url, ("fail", "warn") if on_warn else ("fail",)))
    return found


def summary(result: RunResult, *, extra: str | None = None) -> dict[str, Any]:
    """The webhook body: a ``text`` line and the result JSON's summary."""
    c = result.contract
    counts = {s: sum(1 for x in result.checks if x.status == s) for s in ("fail", "error", "warn", "pass")}
    bad = [x for x in result.checks if x.status in ("fail", "error", "warn")]
    listed = ", ".join(f"{x.id} ({x.failed_rows} rows)" if x.failed_rows else x.id for x in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    text = (f"dqgate: {c.get('dataset')} {c.get('version')} {result.status.upper()} on {result.source.get('uri')}"
            f" ({result.rows:,} rows): {counts['fail']} failed, {counts['warn']} warned. {listed}{more}")  # fmt: skip
    if extra:
        text += f" {extra}"
    return {
        "text": text,
        "dqgate": {
            "contract": dict(c),
            "source": {"uri": result.source.get("uri"), "rows": result.rows},
            "status": result.status,
            "counts": counts,
            "checks": [{k: v for k, v in x.to_json().items() if k in ("id", "rule", "columns", "severity", "status", "failed_rows", "total_rows", "observed", "message")}
                       for x in bad],  # fmt: skip
            "elapsed_s": round(result.elapsed_s, 4),
        },
    }


def notify(result: RunResult, target: Target, *, extra: str | None = None) -> str | None:
    """POST the summary of ``result`` to ``target`` when its status calls for it.

    Returns:
        None when delivered or not needed; otherwise one line saying why it was not delivered.
    """
    if result.status not in target.on:
        return None
    import urllib.error  # here, not at the top: urllib.request and http.client cost every check ~50 ms
    import urllib.request

    body = json.dumps(summary(result, extra=extra), default=str).encode("utf-8")
    last = ""
    for attempt in range(target.retries + 1):
        if attempt:
            time.sleep(min(target.backoff * 2 ** (attempt - 1), 8.0))
        request = urllib.request.Request(target.url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "dqgate"})
        try:
            with urllib.request.urlopen(request, timeout=target.timeout) as response:  # noqa: S310 - the user's own webhook
                response.read(1024)
                return None
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                break  # the request itself is wrong: retrying will not help
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            last = "timed out" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else str(reason)
    tries = attempt + 1
    return f"dq: warning: could not deliver the alert to {_host(target.url)} ({last}, {tries} attempt{'s' if tries > 1 else ''}); the gate's decision stands"


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"  # never the path: webhook paths are secrets
