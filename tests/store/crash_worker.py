"""Publish small batches in a loop until killed (helper of test_store_crash.py).

Usage: python crash_worker.py STORE DATASET TRIAL SEED
Prints "ready" once imported, then "<version> <batch_id>" after each publish.
"""

from __future__ import annotations

import random
import sys

import pyarrow as pa

from dqgate.store import publish, write_object


def main() -> None:
    store, dataset, trial, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rng = random.Random(seed)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        batch = f"t{trial}-{i}"
        infos = []
        for part in range(rng.choice([1, 1, 2])):
            n = rng.randint(1, 40)
            data = pa.table({"id": pa.array(range(n), pa.int64()), "part": [f"{batch}.{part}"] * n})
            stamp = {"batch_id": batch, "contract_sha256": "c" * 64, "status": "pass"}
            infos.append(write_object(store, dataset, data, stamp=stamp))
        mode = "replace" if rng.random() < 0.2 else "append"
        m = publish(store, dataset, infos, mode=mode, contract={"sha256": "c" * 64},
                    checks={"status": "pass"}, batch_id=batch)  # fmt: skip
        print(m.version, batch, flush=True)


if __name__ == "__main__":
    main()
