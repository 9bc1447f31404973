"""Fixtures for the snapshot-store tests: a temporary store and a one-call batch publisher."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest

import dqgate
from dqgate.store import Manifest, publish, write_object

# Subprocesses import the same dqgate as this process (installed, or the working tree).
SRC = Path(dqgate.__file__).resolve().parents[1]

if TYPE_CHECKING:
    from collections.abc import Callable

CONTRACT = {"dataset": "flights", "version": "2.1.0", "sha256": "c" * 64}


@pytest.fixture(autouse=True)
def _no_signing_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DQGATE_SIGNING_KEY", raising=False)
    monkeypatch.setenv("DQGATE_STATE_DIR", str(tmp_path / "dqgate-state"))  # what this "machine" has seen


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """The environment for child Python processes that import dqgate from src/."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env.pop("DQGATE_SIGNING_KEY", None)
    return env


def table(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "carrier": pa.array([["AA", "B6", "DL", None][i % 4] for i in ids], pa.string()),
            "delay": pa.array([None if i % 7 == 0 else i * 0.5 for i in ids], pa.float64()),
        }
    )


@pytest.fixture
def make_table() -> Callable[[int, int], pa.Table]:
    return table


@pytest.fixture
def publish_batch(store: str) -> Callable[..., Manifest]:
    """Write ``data`` (or a generated table) as one object and publish it."""

    def run(
        batch_id: str,
        data: pa.Table | None = None,
        *,
        dataset: str = "flights",
        mode: str = "append",
        status: str = "pass",
        **kwargs: Any,
    ) -> Manifest:
        data = table(0, 10) if data is None else data
        info = write_object(
            store, dataset, data, stamp={"batch_id": batch_id, "contract_sha256": CONTRACT["sha256"], "status": status}
        )
        return publish(
            store,
            dataset,
            [info],
            mode=mode,  # type: ignore[arg-type]
            contract=CONTRACT,
            checks={"status": status, "checks": []},
            batch_id=batch_id,
            **kwargs,
        )

    return run
