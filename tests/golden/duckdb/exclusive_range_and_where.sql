-- title: an exclusive range uses strict comparisons; where is coalesced to false
-- types: {a: DOUBLE, s: VARCHAR}
-- contract:
--   dataset: t
--   schema:
--     columns:
--       a: {type: float64, range: {min: 0, max: 1.5, exclusive: true}, where: "s = 'x'", mostly: 0.9}
--       s: {type: string}
SELECT
  COUNT(*) AS "__rows",
  COUNT_IF(
    (
      COALESCE((
        "s" = 'x'
      ), FALSE) AND NOT "a" IS NULL
    )
    AND NOT (
      "a" > 0 AND "a" < 1.5
    )
  ) AS "r0_failed",
  COUNT_IF(COALESCE((
    "s" = 'x'
  ), FALSE) AND NOT "a" IS NULL) AS "r0_total"
FROM __dq_data
