#!/usr/bin/env bash
# Set up .venv (Python 3.11), install dqgate with its test extras (this compiles the
# Cython kernels and the native DuckDB extension, build_native.py), then run the whole suite twice over what it installed: once with the
# compiled kernels, once more for the kernel and engine tests with the pure-Python twins
# forced (DQGATE_PURE_PYTHON=1). Fails when any run fails or collects no test (pytest exit 5).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# The HTML report is tested in a real headless Chromium (Debian's package).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi
# The Spark tests start one local[2] SparkSession (tests/conftest.py): Java 17+ (Debian's
# headless JDK where missing), Spark's Python workers on this venv's interpreter.
if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null
fi
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
export DQ_SPARK_MASTER="${DQ_SPARK_MASTER:-local[2]}"
DQGATE_REQUIRE_NATIVE=1 .venv/bin/python -m pip install -q --disable-pip-version-check '.[test,dagster]'
# The PostgreSQL engine is tested against a real server (Debian's PostgreSQL), one for the
# whole run, started here as the `postgres` user and stopped at exit; tests/pg_server.py
# reads its DSN. When it cannot start, the line says why and the PostgreSQL tests fail.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
fi
pg_dir="$(mktemp -d)"
trap 'bash scripts/postgres_server.sh stop "$pg_dir"' EXIT
if DQ_TEST_POSTGRES_DSN="$(bash scripts/postgres_server.sh start "$pg_dir")"; then
    export DQ_TEST_POSTGRES_DSN
else
    unset DQ_TEST_POSTGRES_DSN
fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
DQGATE_PURE_PYTHON=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/kernels tests/parity
