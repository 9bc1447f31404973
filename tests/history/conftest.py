"""In-process calls publish without a signing key, whatever the environment says."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DQGATE_SIGNING_KEY", raising=False)
