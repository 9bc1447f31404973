-- title: uniqueness is a CTE of the same statement; composite keys skip rows with a NULL key part
-- types: {id: BIGINT, a: BIGINT, s: VARCHAR}
-- contract:
--   dataset: t
--   schema:
--     columns:
--       id: {type: int64, required: true, unique: true}
--       a: {type: int64}
--       s: {type: string}
--     unique: [[a, s]]
WITH "__dq_dup_1" AS (
  SELECT
    "id",
    COUNT(*) AS n
  FROM __dq_data
  WHERE
    NOT "id" IS NULL
  GROUP BY
    "id"
  HAVING
    COUNT(*) > 1
), "__dq_dup_2" AS (
  SELECT
    "a",
    "s",
    COUNT(*) AS n
  FROM __dq_data
  WHERE
    NOT "a" IS NULL AND NOT "s" IS NULL
  GROUP BY
    "a",
    "s"
  HAVING
    COUNT(*) > 1
)
SELECT
  COUNT(*) AS "__rows",
  COUNT_IF(NOT (
    NOT "id" IS NULL
  )) AS "r0_failed",
  COUNT_IF(TRUE) AS "r0_total",
  COALESCE((
    SELECT
      SUM(n)
    FROM __dq_dup_1
  ), 0) AS "r1_failed",
  COUNT_IF(NOT "id" IS NULL) AS "r1_total",
  (
    SELECT
      LIST({'id': "id"})
    FROM (
      SELECT
        "id"
      FROM __dq_dup_1
      LIMIT 5
    ) AS s
  ) AS "r1_sample",
  (
    SELECT
      COUNT(*)
    FROM __dq_dup_1
  ) AS "r1_groups",
  COALESCE((
    SELECT
      SUM(n)
    FROM __dq_dup_2
  ), 0) AS "r2_failed",
  COUNT_IF(NOT "a" IS NULL AND NOT "s" IS NULL) AS "r2_total",
  (
    SELECT
      LIST({'a': "a", 's': "s"})
    FROM (
      SELECT
        "a",
        "s"
      FROM __dq_dup_2
      LIMIT 5
    ) AS s
  ) AS "r2_sample",
  (
    SELECT
      COUNT(*)
    FROM __dq_dup_2
  ) AS "r2_groups"
FROM __dq_data
