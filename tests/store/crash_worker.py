"""A fork server for test_store_crash.py: forks publishers that the test kills with SIGKILL.

Importing pyarrow costs far more than a trial, so this process imports once and
forks one child per trial (it has run no Arrow code, so no threads exist yet and
forking is safe). Commands, one per line on stdin:

- ``run STORE DATASET TRIAL SEED OUT``: fork a child that publishes small batches
  in a loop, appending ``<version> <batch_id>`` to the file OUT after each
  publish; prints the child's pid.
- ``wait PID``: reap the child; prints its wait status.
"""

from __future__ import annotations

import os
import random
import sys

import pyarrow as pa

from dqgate.store import publish, write_object


def publish_forever(store: str, dataset: str, trial: str, seed: int, out: str) -> None:
    rng = random.Random(seed)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
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
        os.write(fd, f"{m.version} {batch}\n".encode())


def main() -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "run":
            pid = os.fork()
            if pid == 0:
                try:
                    store, dataset, trial, seed, out = args
                    publish_forever(store, dataset, trial, int(seed), out)
                finally:
                    os._exit(3)  # only reached on an error: the test expects death by SIGKILL
            print(pid, flush=True)
        elif cmd == "wait":
            _, status = os.waitpid(int(args[0]), 0)
            print(status, flush=True)


if __name__ == "__main__":
    main()
