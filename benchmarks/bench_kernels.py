"""Each format kernel against the best engine-native way of doing the same check.

For email, luhn, uuid and iso_date over N rows (default 10M, 0.5 % malformed,
1 % null) this times, side by side in one run:

- ``count_invalid``: our compiled kernel (row ranges on the thread pool);
- the same kernel on one thread;
- the kernel as a DuckDB Arrow UDF (``format_valid``) inside the same aggregate,
  which is how ``runners/duckdb.py`` calls it;
- DuckDB: ``regexp_full_match`` (plus SQL for the checksum / calendar part) over
  an Arrow table registered in DuckDB, counted in one aggregate;
- Polars: ``str.contains`` with an anchored regex (plus expressions for the
  checksum / calendar part) on a DataFrame already converted from Arrow;
- the pure-Python reference, on a 1M-row slice, scaled to N.

Every method must report the same invalid count, or the script fails. The email
data mimics the peerbench ``email`` column (``name123@domain.tld``, the same five
malformed shapes). Run: ``python benchmarks/bench_kernels.py --rows 10000000``.

A second table times the two functions of dqgate's DuckDB extension
(``_kernels/dqgate_native.c``), which run in DuckDB's own threads, against what they
replace, all inside one DuckDB aggregate over the same Arrow table:

- ``pattern`` (peerbench's email regex): ``dq_dfa_match`` with the table of
  ``compilers/regex_dfa.py`` vs ``regexp_full_match`` (RE2) vs Polars ``str.contains``
  vs the DFA's Python twin (1M-row slice, scaled);
- ``unique`` on a dense int64 key (a shuffled permutation with 0.01 % repeated):
  ``dq_key_repeats`` vs the GROUP BY ... HAVING count(*) > 1 the fused query would
  otherwise run vs the Cython bitmap pass over Arrow batches (``dense_unique.count``'s
  way) vs Polars ``is_duplicated``.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import ARROW

from dqgate import _kernels
from dqgate._kernels import reference

if TYPE_CHECKING:
    from collections.abc import Callable

BATCH_ROWS = 262_144  # the peerbench Parquet row-group size
EMAIL_REGEX = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
UUID_REGEX = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
LUHN_DIGIT = "(ascii(c) - 48) * (1 + (i + 1) % 2)"  # DuckDB lambda: digit, doubled at even positions from the right

DUCKDB_SQL = {
    "email": f"regexp_full_match(s, '{EMAIL_REGEX}')",
    "uuid": f"regexp_full_match(s, '{UUID_REGEX}')",
    "luhn": (
        "regexp_full_match(s, '[0-9]{12,19}') AND list_sum(list_transform(str_split(reverse(s), ''), "
        f"lambda c, i: {LUHN_DIGIT} - CASE WHEN {LUHN_DIGIT} > 9 THEN 9 ELSE 0 END)) % 10 = 0"
    ),
    "iso_date": "regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}') AND try_strptime(s, '%Y-%m-%d') IS NOT NULL",
}


def polars_valid(fmt: str) -> pl.Expr:
    s = pl.col("s")
    if fmt == "email":
        return s.str.contains(f"^{EMAIL_REGEX}$")
    if fmt == "uuid":
        return s.str.contains(f"^{UUID_REGEX}$")
    if fmt == "luhn":
        weighted = pl.element().cast(pl.Int32, strict=False) * (pl.int_range(pl.len()) % 2 + 1)
        digit_sum = s.str.reverse().str.split("").list.eval(weighted - 9 * (weighted > 9).cast(pl.Int32)).list.sum()
        return s.str.contains("^[0-9]{12,19}$") & (digit_sum % 10 == 0)
    return s.str.contains("^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & s.str.strptime(
        pl.Date, "%Y-%m-%d", strict=False
    ).is_not_null()


# --- data -------------------------------------------------------------------------


def fixed_width(chars: np.ndarray) -> pa.Array:
    """An (n, width) uint8 array of ASCII as a string array, without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)))


def make_column(fmt: str, rows: int, rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    """Valid values with 0.5 % corrupted rows; returns the array and the corrupted positions."""
    bad = np.sort(rng.choice(rows, size=rows // 200, replace=False))
    if fmt == "email":
        first = pa.array(["james", "mary", "li", "ana", "mohammed", "sofia", "olga", "kenji"])
        domains = pa.array(["example.com", "mail.org", "corp.co.uk", "uni.edu", "web.de", "post.io"])
        name = first.take(pa.array(rng.integers(0, len(first), rows)))
        num = pc.cast(pa.array(rng.integers(1, 100_000, rows)), pa.string())
        domain = domains.take(pa.array(rng.integers(0, len(domains), rows)))
        values = pc.binary_join_element_wise(name, num, "@", domain, "")
        shapes = ["{f}{n}.example.com", "{f}{n}@@example.com", "{f} {n}@example.com", "{f}{n}@example", "@example.com"]
        bad_values = pa.array([shapes[i % 5].format(f="x", n=i) for i in range(len(bad))], pa.string())
        mask = np.zeros(rows, bool)
        mask[bad] = True
        return pc.replace_with_mask(values, pa.array(mask), bad_values), bad
    if fmt == "uuid":
        hexdigits = np.frombuffer(b"0123456789abcdef", np.uint8)[rng.integers(0, 16, (rows, 32))]
        chars = np.insert(hexdigits, [8, 12, 16, 20], ord("-"), axis=1)
        chars[bad, 3] = ord("g")
        return fixed_width(chars), bad
    if fmt == "luhn":
        digits = rng.integers(0, 10, (rows, 16), dtype=np.uint8)
        weighted = digits[:, :15][:, ::-1].astype(np.int32) * np.tile([2, 1], 8)[:15]
        weighted -= 9 * (weighted > 9)
        digits[:, 15] = (10 - weighted.sum(axis=1) % 10) % 10
        digits[bad, 15] = (digits[bad, 15] + 1) % 10
        return fixed_width(digits + ord("0")), bad
    days = rng.integers(np.datetime64("1900-01-01").astype(int), np.datetime64("2100-01-01").astype(int), rows)
    text = np.datetime_as_string(days.astype("datetime64[D]")).astype("S10").view(np.uint8).reshape(rows, 10).copy()
    text[bad, 5:10] = np.frombuffer(b"02-30", np.uint8)
    return fixed_width(text), bad


def with_nulls(arr: pa.Array, rng: np.random.Generator) -> pa.Array:
    null = rng.random(len(arr)) < 0.01
    return pc.if_else(pa.array(null), pa.scalar(None, arr.type), arr)


# --- timing -----------------------------------------------------------------------


def best_of(fn: Callable[[], int], repeats: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    result = fn()  # warm-up
    if time.perf_counter() - t0 > 10:  # warming up is noise next to this; do not wait minutes more
        return time.perf_counter() - t0, result
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def bench_format(fmt: str, rows: int, repeats: int, rng: np.random.Generator) -> dict[str, tuple[float, int]]:
    values, _ = make_column(fmt, rows, rng)
    column = with_nulls(values, rng)
    table = pa.Table.from_batches(pa.table({"s": column}).to_batches(max_chunksize=BATCH_ROWS))
    chunked = table.column("s")
    whole = chunked.combine_chunks()
    con = duckdb.connect()
    con.register("t", table)
    sql = f"SELECT count(*) FILTER (WHERE NOT ({DUCKDB_SQL[fmt]})) FROM t WHERE s IS NOT NULL"
    def kernel_valid(values: Any) -> Any:
        return _kernels.format_valid(values, fmt)

    con.create_function(
        "kernel_valid", kernel_valid, [duckdb.sqltype("VARCHAR")], duckdb.sqltype("BOOLEAN"), type=ARROW, side_effects=False
    )
    udf_sql = "SELECT count(*) FILTER (WHERE NOT kernel_valid(s)) FROM t WHERE s IS NOT NULL"
    frame = pl.DataFrame(pl.from_arrow(table))
    expr = polars_valid(fmt)
    sample = whole.slice(0, min(rows, 1_000_000))
    scale = rows / len(sample)

    def ours() -> int:
        return _kernels.count_invalid(chunked, fmt)[0]

    def ours_one_thread() -> int:
        offsets, data, validity = _kernels._buffers(whole)
        code = _kernels.FORMATS.index(fmt)
        return _kernels._formats.count_range(code, offsets, data, validity, 0, 0, len(whole))[0]

    def duck() -> int:
        row = con.execute(sql).fetchone()
        return int(row[0]) if row else -1

    def duck_udf() -> int:
        row = con.execute(udf_sql).fetchone()
        return int(row[0]) if row else -1

    def polars() -> int:
        return int(frame.select((pl.col("s").is_not_null() & ~expr).sum()).item())

    def pure() -> int:
        return reference.count_invalid(sample.cast(pa.large_binary()).to_pylist(), fmt)[0]

    results = {
        "dqgate": best_of(ours, repeats),
        "dqgate 1 thread": best_of(ours_one_thread, repeats) if _kernels.COMPILED else (float("nan"), -1),
        "duckdb": best_of(duck, repeats),
        "duckdb + kernel udf": best_of(duck_udf, repeats),
        "polars": best_of(polars, repeats),
    }
    t_pure, pure_bad = best_of(pure, 1)
    results["pure python (scaled)"] = (t_pure * scale, pure_bad)
    expected = results["dqgate"][1]
    for name, (_, got) in results.items():
        if name != "pure python (scaled)" and got not in (expected, -1):
            msg = f"{fmt}: {name} counted {got} invalid rows, dqgate counted {expected}"
            raise SystemExit(msg)
    if pure_bad != _kernels.count_invalid(sample, fmt)[0]:
        raise SystemExit(f"{fmt}: reference and dqgate disagree on the 1M sample")
    return results


def bench_native(rows: int, repeats: int, rng: np.random.Generator) -> None:
    from dqgate.compilers.regex_dfa import compile_dfa
    from dqgate.runners import native

    if not native.PATH.is_file():
        raise SystemExit(f"the extension is not built: {native.why_not()}")
    con = duckdb.connect(config=native.CONFIG)
    con.execute(f"LOAD '{native.PATH}'")
    emails = with_nulls(make_column("email", rows, rng)[0], rng)
    repeated = max(1, rows // 10_000)
    keys = rng.permutation(rows).astype(np.int64)
    keys[rng.choice(rows, repeated, replace=False)] = rng.choice(rows, repeated)  # some keys now occur twice or more
    table = pa.Table.from_batches(pa.table({"s": emails, "k": keys}).to_batches(max_chunksize=BATCH_ROWS))
    con.register("t", table)
    frame = pl.DataFrame(pl.from_arrow(table))
    pattern = f"^{EMAIL_REGEX}$"
    dfa = compile_dfa(pattern)
    sample = emails.slice(0, min(rows, 1_000_000)).to_pylist()

    def count(sql: str, *params: Any) -> Callable[[], int]:
        return lambda: int(con.execute(sql, list(params)).fetchall()[0][0])

    def twin() -> int:
        return sum(1 for v in sample if v is not None and not reference.dfa_full_match(dfa, v.encode()))

    def cython_pass() -> int:
        seen = np.zeros((rows + 7) // 8, dtype=np.uint8)
        twice = np.zeros_like(seen)
        singles = sum(_kernels.mark_keys(b.column(0).to_numpy(), seen, twice, rows) or 0 for b in
                      con.sql("SELECT k::UINTEGER FROM t").to_arrow_reader(1 << 20))  # fmt: skip
        return rows - singles

    bad_sql = "SELECT count(*) FILTER (WHERE NOT {}) FROM t WHERE s IS NOT NULL"
    pattern_runs = {
        "dq_dfa_match": best_of(count(bad_sql.format("dq_dfa_match(s, ?)"), dfa), repeats),
        "duckdb regexp_full_match": best_of(count(bad_sql.format("regexp_full_match(s, ?)"), pattern), repeats),
        "polars str.contains": best_of(lambda: int(frame.select((pl.col("s").is_not_null() & ~pl.col("s").str.contains(pattern)).sum()).item()), repeats),
    }
    t_twin, _ = best_of(twin, 1)
    key_runs = {
        "dq_key_repeats": best_of(lambda: int(con.execute("SELECT dq_key_repeats(k, 0, ?, 5)[1] FROM t", [rows]).fetchall()[0][0]), repeats),
        "duckdb GROUP BY": best_of(count("SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM t GROUP BY k HAVING count(*) > 1)"), repeats),
        "cython pass": best_of(cython_pass, repeats) if _kernels.COMPILED else (float("nan"), -1),
        "polars is_duplicated": best_of(lambda: int(frame.select(pl.col("k").is_duplicated().sum()).item()), repeats),
    }
    for name, runs in (("pattern", pattern_runs), ("unique", key_runs)):
        counts = {got for _, got in runs.values() if got != -1}
        if len(counts) != 1:
            raise SystemExit(f"{name}: the methods disagree: {runs}")
    print("\n| check | failing | " + " | ".join(f"{c} (s)" for c in (*pattern_runs, "dfa python twin (scaled)")) + " |")
    print("|---" * (len(pattern_runs) + 3) + "|")
    print(f"| pattern (email) | {pattern_runs['dq_dfa_match'][1]:,} | " + " | ".join(f"{t:.3f}" for t, _ in pattern_runs.values())
          + f" | {t_twin * rows / len(sample):.1f} |")  # fmt: skip
    print("\n| check | failing | " + " | ".join(f"{c} (s)" for c in key_runs) + " |")
    print("|---" * (len(key_runs) + 2) + "|")
    print(f"| unique (dense int64) | {key_runs['dq_key_repeats'][1]:,} | " + " | ".join(f"{t:.3f}" for t, _ in key_runs.values()) + " |")
    print(f"(DFA of {dfa[1] - 1} states, {len(dfa)}-byte table)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", default="email,luhn,uuid,iso_date")
    parser.add_argument("--native-only", action="store_true", help="only the table of the DuckDB extension's functions")
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    cols = ["dqgate", "dqgate 1 thread", "duckdb", "duckdb + kernel udf", "polars", "pure python (scaled)"]
    print(f"rows={args.rows:,}  cpus={_kernels._workers()}  compiled={_kernels.COMPILED}  "
          f"duckdb {duckdb.__version__}  polars {pl.__version__}  pyarrow {pa.__version__}  best of {args.repeats}\n")
    print("| format | invalid | " + " | ".join(f"{c} (s)" for c in cols) + " | duckdb / dqgate | polars / dqgate |")
    print("|---" * (len(cols) + 4) + "|")
    for fmt in [] if args.native_only else args.formats.split(","):
        r = bench_format(fmt, args.rows, args.repeats, rng)
        ours = r["dqgate"][0]
        cells = " | ".join(f"{r[c][0]:.3f}" for c in cols)
        print(f"| {fmt} | {r['dqgate'][1]:,} | {cells} | {r['duckdb'][0] / ours:.1f}x | {r['polars'][0] / ours:.1f}x |",
              flush=True)
    bench_native(args.rows, args.repeats, rng)
    duck_threads = (duckdb.execute("SELECT current_setting('threads')").fetchone() or ("?",))[0]
    print(f"\nthreads: duckdb {duck_threads}, polars {pl.thread_pool_size()}, dqgate {_kernels._workers()}")


if __name__ == "__main__":
    main()
