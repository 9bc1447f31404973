-- title: every row rule but required judges only non-NULL values; required counts NULLs
-- types: {a: BIGINT, s: VARCHAR}
-- contract:
--   dataset: t
--   schema:
--     columns:
--       a: {type: int64, required: true, range: {min: 0, max: 10}, in: [1, 2]}
--       s: {type: string, pattern: '^[a-z]+$', length: {min: 1, max: 3}}
SELECT
  COUNT(*) AS "__rows",
  COUNT_IF(NOT (
    NOT "a" IS NULL
  )) AS "r0_failed",
  COUNT_IF(TRUE) AS "r0_total",
  COUNT_IF(NOT "a" IS NULL AND NOT (
    "a" >= 0 AND "a" <= 10
  )) AS "r1_failed",
  COUNT_IF(NOT "a" IS NULL) AS "r1_total",
  COUNT_IF(NOT "a" IS NULL AND NOT (
    NOT LIST_POSITION([1, 2], "a") IS NULL
  )) AS "r2_failed",
  COUNT_IF(NOT "a" IS NULL) AS "r2_total",
  COUNT_IF(NOT "s" IS NULL AND NOT (
    REGEXP_FULL_MATCH("s", '^[a-z]+$')
  )) AS "r3_failed",
  COUNT_IF(NOT "s" IS NULL) AS "r3_total",
  COUNT_IF(NOT "s" IS NULL AND NOT (
    LENGTH("s") >= 1 AND LENGTH("s") <= 3
  )) AS "r4_failed",
  COUNT_IF(NOT "s" IS NULL) AS "r4_total"
FROM __dq_data
