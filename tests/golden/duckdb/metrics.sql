-- title: builtin metrics and a SQL aggregate share the one scan; counts of nothing are 0
-- types: {d: DOUBLE, c: VARCHAR}
-- contract:
--   dataset: t
--   schema:
--     columns:
--       d: {type: float64}
--       c: {type: string}
--   checks:
--     - {metric: row_count, between: [1, 100]}
--     - {metric: null_count(d)}
--     - {metric: null_fraction(d), max: 0.05}
--     - {metric: distinct_count(c)}
--     - {metric: mean(d)}
--     - {metric: stddev(d)}
--     - {metric: median(d)}
--     - {metric: 'quantile(d, 0.99)', max: 300}
--     - {metric: sum(d), where: "c = 'JFK'"}
--     - {metric: "count_if(c = 'JFK')", min: 1, name: jfk}
--     - {metric: "count(*) FILTER (WHERE c = 'LGA')", where: "d > 0"}
SELECT
  COUNT(*) AS "__rows",
  COUNT(*) AS "r0_value",
  COALESCE(COUNT_IF("d" IS NULL), 0) AS "r1_value",
  CAST(COUNT_IF("d" IS NULL) AS DOUBLE) / NULLIF(COUNT(*), 0) AS "r2_value",
  COUNT(DISTINCT "c") AS "r3_value",
  AVG(CAST("d" AS DOUBLE)) AS "r4_value",
  STDDEV_SAMP(CAST("d" AS DOUBLE)) AS "r5_value",
  QUANTILE_CONT(CAST("d" AS DOUBLE), 0.5) AS "r6_value",
  QUANTILE_CONT(CAST("d" AS DOUBLE), 0.99) AS "r7_value",
  SUM("d") FILTER(WHERE
    COALESCE((
      "c" = 'JFK'
    ), FALSE)) AS "r8_value",
  COALESCE(COUNT_IF("c" = 'JFK'), 0) AS "r9_value",
  (
    SELECT
      COUNT(*) FILTER(WHERE
        "c" = 'LGA')
    FROM __dq_data
    WHERE
      COALESCE((
        "d" > 0
      ), FALSE)
  ) AS "r10_value"
FROM __dq_data
