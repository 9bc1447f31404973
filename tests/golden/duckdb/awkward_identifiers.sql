-- title: column names with spaces, quotes, unicode and keywords are quoted, never pasted
-- types: {"my col": BIGINT, "it's": VARCHAR, "say \"hi\"": BIGINT, höhe: DOUBLE, select: BIGINT}
-- contract:
--   dataset: t
--   schema:
--     columns:
--       my col: {type: int64, required: true, unique: true}
--       it's: {type: string, in: ["it's", 'say "hi"']}
--       say "hi": {type: int64, range: {min: 0}}
--       höhe: {type: float64}
--       select: {type: int64}
--   checks:
--     - expect: '"höhe" > "select" AND "it''s" <> ''x'''
--     - metric: 'mean("say ""hi""")'
WITH "__dq_dup_1" AS (
  SELECT
    "my col",
    COUNT(*) AS n
  FROM __dq_data
  WHERE
    NOT "my col" IS NULL
  GROUP BY
    "my col"
  HAVING
    COUNT(*) > 1
)
SELECT
  COUNT(*) AS "__rows",
  COUNT_IF(NOT (
    NOT "my col" IS NULL
  )) AS "r0_failed",
  COUNT_IF(TRUE) AS "r0_total",
  COALESCE((
    SELECT
      SUM(n)
    FROM __dq_dup_1
  ), 0) AS "r1_failed",
  COUNT_IF(NOT "my col" IS NULL) AS "r1_total",
  (
    SELECT
      LIST({'my col': "my col"})
    FROM (
      SELECT
        "my col"
      FROM __dq_dup_1
      LIMIT 5
    ) AS s
  ) AS "r1_sample",
  (
    SELECT
      COUNT(*)
    FROM __dq_dup_1
  ) AS "r1_groups",
  COUNT_IF(
    NOT "it's" IS NULL
    AND NOT (
      NOT LIST_POSITION(['it''s', 'say "hi"'], "it's") IS NULL
    )
  ) AS "r2_failed",
  COUNT_IF(NOT "it's" IS NULL) AS "r2_total",
  COUNT_IF(NOT "say ""hi""" IS NULL AND NOT (
    "say ""hi""" >= 0
  )) AS "r3_failed",
  COUNT_IF(NOT "say ""hi""" IS NULL) AS "r3_total",
  COUNT_IF(NOT (
    (
      "höhe" > "select" AND "it's" <> 'x'
    )
  )) AS "r4_failed",
  COUNT_IF(TRUE) AS "r4_total",
  AVG(CAST("say ""hi""" AS DOUBLE)) AS "r5_value"
FROM __dq_data
