-- title: references read the reference view; freshness is a max; string bounds are cast to the column type
-- types: {dest: VARCHAR, day: DATE, loaded_at: TIMESTAMP}
-- contract:
--   dataset: t
--   schema:
--     columns:
--       dest: {type: string, references: airports.faa}
--       day: {type: date, range: {min: '2024-01-01'}}
--       loaded_at: {type: timestamp, freshness: {max_age: 36h}, range: {max: '2030-01-01 00:00:00'}}
--   references:
--     airports: airports.parquet
SELECT
  COUNT(*) AS "__rows",
  COUNT_IF(
    NOT "dest" IS NULL
    AND NOT (
      COALESCE(
        "dest" IN (
          SELECT
            "faa"
          FROM __dq_ref_airports
          WHERE
            NOT "faa" IS NULL
        ),
        FALSE
      )
    )
  ) AS "r0_failed",
  COUNT_IF(NOT "dest" IS NULL) AS "r0_total",
  COUNT_IF(NOT "day" IS NULL AND NOT (
    "day" >= CAST('2024-01-01' AS DATE)
  )) AS "r1_failed",
  COUNT_IF(NOT "day" IS NULL) AS "r1_total",
  COUNT_IF(
    NOT "loaded_at" IS NULL
    AND NOT (
      "loaded_at" <= CAST('2030-01-01 00:00:00' AS TIMESTAMP)
    )
  ) AS "r2_failed",
  COUNT_IF(NOT "loaded_at" IS NULL) AS "r2_total",
  MAX("loaded_at") AS "r3_value"
FROM __dq_data
