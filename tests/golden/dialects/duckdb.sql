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
), "__dq_dup_6" AS (
  SELECT
    "id",
    "status",
    COUNT(*) AS n
  FROM __dq_data
  WHERE
    NOT "id" IS NULL AND NOT "status" IS NULL
  GROUP BY
    "id",
    "status"
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
  COUNT_IF(
    (
      COALESCE((
        "status" <> 'void'
      ), FALSE) AND NOT "amount" IS NULL
    )
    AND NOT (
      "amount" >= 0 AND "amount" < 1000
    )
  ) AS "r2_failed",
  COUNT_IF(COALESCE((
    "status" <> 'void'
  ), FALSE) AND NOT "amount" IS NULL) AS "r2_total",
  COUNT_IF(
    NOT "status" IS NULL
    AND NOT (
      NOT LIST_POSITION(['open', 'paid', 'void'], "status") IS NULL
    )
  ) AS "r3_failed",
  COUNT_IF(NOT "status" IS NULL) AS "r3_total",
  COUNT_IF(
    NOT "status" IS NULL
    AND NOT (
      LENGTH("status") >= 3 AND LENGTH("status") <= 4
    )
  ) AS "r4_failed",
  COUNT_IF(NOT "status" IS NULL) AS "r4_total",
  MAX("Created At") AS "r5_value",
  COALESCE((
    SELECT
      SUM(n)
    FROM __dq_dup_6
  ), 0) AS "r6_failed",
  COUNT_IF(NOT "id" IS NULL AND NOT "status" IS NULL) AS "r6_total",
  (
    SELECT
      LIST({'id': "id", 'status': "status"})
    FROM (
      SELECT
        "id",
        "status"
      FROM __dq_dup_6
      LIMIT 5
    ) AS s
  ) AS "r6_sample",
  (
    SELECT
      COUNT(*)
    FROM __dq_dup_6
  ) AS "r6_groups",
  COUNT_IF(NOT (
    (
      "amount" >= 0 OR "status" = 'void'
    )
  )) AS "r7_failed",
  COUNT_IF(TRUE) AS "r7_total",
  COUNT(*) AS "r8_value",
  CAST(COUNT_IF("amount" IS NULL) AS DOUBLE) / NULLIF(COUNT(*), 0) AS "r9_value",
  COUNT(DISTINCT "status") AS "r10_value",
  AVG(CAST("amount" AS DOUBLE)) AS "r11_value",
  STDDEV_SAMP(CAST("amount" AS DOUBLE)) AS "r12_value",
  (
    SELECT
      COALESCE(COUNT_IF("status" = 'paid'), 0)
    FROM __dq_data
    WHERE
      COALESCE((
        "amount" > 10
      ), FALSE)
  ) AS "r13_value"
FROM __dq_data
