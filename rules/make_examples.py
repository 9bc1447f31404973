"""Regenerate the bundled example data in rules/data/ (deterministic; numpy + pyarrow only).

    python rules/make_examples.py

flights.parquet passes rules/flights.yaml (with two warnings); flights_bad_batch.parquet
is a batch with injected defects, for trying `dq ingest` and quarantine.
"""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
AIRPORTS = ["JFK", "LGA", "EWR", "ATL", "ORD", "LAX", "SFO", "BOS", "MIA", "DFW", "SEA", "DEN"]
CARRIERS = ["AA", "B6", "DL", "UA"]


def flights(n: int, seed: int, *, start_id: int, bad: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    dep_delay = np.round(rng.gamma(1.2, 12.0, n) - 5.0, 1)
    arr_delay = np.round(dep_delay + rng.normal(-2, 8, n), 1)
    arr_null = rng.random(n) < 0.02
    tail = np.array([f"N{rng.integers(1, 99999)}{'AB'[rng.integers(0, 2)]}" for _ in range(n)], dtype=object)
    odd_tail = rng.random(n) < 0.004  # below the 1% the contract tolerates
    tail[odd_tail] = "UNKNOWN"
    ids = np.arange(start_id, start_id + n)
    carrier = np.array(CARRIERS, dtype=object)[rng.integers(0, len(CARRIERS), n)]
    origin = np.array(AIRPORTS[:3], dtype=object)[rng.integers(0, 3, n)]
    dest = np.array(AIRPORTS[3:], dtype=object)[rng.integers(0, len(AIRPORTS) - 3, n)]
    dep_time = rng.integers(0, 2400, n)
    loaded = dt.datetime(2025, 6, 1, 6, 0) + np.arange(n) * dt.timedelta(seconds=7)
    email = np.array([f"ops{rng.integers(1, 500)}@{c.lower()}.example.com" for c in carrier], dtype=object)
    if bad:
        month[:25] = 13
        ids[30:40] = ids[40:50]
        carrier[50:60] = "ZZ"
        email[60:70] = "not-an-email"
        dest[70:80] = "XXX"
        dep_delay[80:90] = 9999.0
    arrays = {
        "id": pa.array(ids, pa.int64()),
        "year": pa.array(np.full(n, 2025), pa.int64()),
        "month": pa.array(month, pa.int64()),
        "day": pa.array(day, pa.int64()),
        "carrier": pa.array(carrier, pa.string()),
        "flight": pa.array(rng.integers(1, 3000, n), pa.int64()),
        "tailnum": pa.array(tail, pa.string()),
        "origin": pa.array(origin, pa.string()),
        "dest": pa.array(dest, pa.string()),
        "dep_time": pa.array(dep_time, pa.int64()),
        "dep_delay": pa.array(dep_delay, pa.float64()),
        "arr_delay": pa.array(np.where(arr_null, np.nan, arr_delay), pa.float64(), mask=arr_null),
        "contact_email": pa.array(email, pa.string()),
        "loaded_at": pa.array(loaded, pa.timestamp("us")),
    }
    return pa.table(arrays)


def main() -> None:
    os.makedirs(HERE, exist_ok=True)
    pq.write_table(flights(5000, 7, start_id=1, bad=False), os.path.join(HERE, "flights.parquet"), compression="zstd")
    pq.write_table(flights(2000, 8, start_id=100_001, bad=True), os.path.join(HERE, "flights_bad_batch.parquet"), compression="zstd")
    airports = pa.table({"faa": AIRPORTS, "name": [f"Airport {a}" for a in AIRPORTS]})
    pq.write_table(airports, os.path.join(HERE, "airports.parquet"))


if __name__ == "__main__":
    main()
