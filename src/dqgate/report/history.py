"""Metric history (``history.series``) as plain text: one row per version."""

from __future__ import annotations

from typing import Any


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def render(points: list[dict[str, Any]], *, dataset: str, metric: str | None = None) -> str:
    """A table with one row per version and one column per metric id (or slice).

    Without ``metric``, every check with a numeric value is listed, one line per
    version and id, since a contract can have many.
    """
    ids = list(dict.fromkeys(cid for p in points for cid in p["values"]))
    if not ids:
        what = f"metric '{metric}'" if metric else "any metric"
        return f"{dataset}: no published values of {what} ({len(points)} versions)\n"
    if metric is None:
        rows = [["version", "created_at", "id", "value"]]
        rows += [[str(p["version"]), p["created_at"], cid, _cell(v)] for p in points for cid, v in p["values"].items()]
    else:
        rows = [["version", "created_at", *ids]]
        rows += [[str(p["version"]), p["created_at"], *(_cell(p["values"].get(cid)) for cid in ids)] for p in points]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n" for r in rows)
