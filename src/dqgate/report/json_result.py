"""RunResult -> the stable result JSON of DESIGN.md."""

from __future__ import annotations

import json

from dqgate.runners.results import RunResult


def render(result: RunResult) -> str:
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
