-- title: expect passes a row on NULL (only FALSE fails); its where scopes it
-- types: {arr: BIGINT, dep: BIGINT}
-- contract:
--   dataset: t
--   schema:
--     columns:
--       arr: {type: int64}
--       dep: {type: int64}
--   checks:
--     - name: arrival_after_departure
--       expect: "arr >= dep - 120"
--       where: "arr IS NOT NULL AND dep IS NOT NULL"
--       severity: warn
SELECT
  COUNT(*) AS "__rows",
  COUNT_IF(
    COALESCE((
      NOT "arr" IS NULL AND NOT "dep" IS NULL
    ), FALSE)
    AND NOT (
      (
        "arr" >= "dep" - 120
      )
    )
  ) AS "r0_failed",
  COUNT_IF(COALESCE((
    NOT "arr" IS NULL AND NOT "dep" IS NULL
  ), FALSE)) AS "r0_total"
FROM __dq_data
