WITH `__dq_dup_1` AS (
  SELECT
    `id`,
    COUNT(*) AS n
  FROM __dq_data
  WHERE
    NOT `id` IS NULL
  GROUP BY
    `id`
  HAVING
    COUNT(*) > 1
), `__dq_dup_6` AS (
  SELECT
    `id`,
    `status`,
    COUNT(*) AS n
  FROM __dq_data
  WHERE
    NOT `id` IS NULL AND NOT `status` IS NULL
  GROUP BY
    `id`,
    `status`
  HAVING
    COUNT(*) > 1
)
SELECT
  COUNT(*) AS `__rows`,
  COUNT_IF(NOT (
    NOT `id` IS NULL
  )) AS `r0_failed`,
  COUNT_IF(TRUE) AS `r0_total`,
  COALESCE(
    (
      SELECT
        STRUCT(
          SUM(n) AS `failed`,
          COUNT(*) AS `groups`,
          MAX_BY(STRUCT(`id` AS `id`), 0, 5) AS `sample`
        )
      FROM __dq_dup_1
    ).`failed`,
    0
  ) AS `r1_failed`,
  COUNT_IF(NOT `id` IS NULL) AS `r1_total`,
  (
    SELECT
      STRUCT(
        SUM(n) AS `failed`,
        COUNT(*) AS `groups`,
        MAX_BY(STRUCT(`id` AS `id`), 0, 5) AS `sample`
      )
    FROM __dq_dup_1
  ).`sample` AS `r1_sample`,
  (
    SELECT
      STRUCT(
        SUM(n) AS `failed`,
        COUNT(*) AS `groups`,
        MAX_BY(STRUCT(`id` AS `id`), 0, 5) AS `sample`
      )
    FROM __dq_dup_1
  ).`groups` AS `r1_groups`,
  COUNT_IF(
    (
      COALESCE((
        `status` <> 'void'
      ), FALSE) AND NOT `amount` IS NULL
    )
    AND NOT (
      `amount` >= 0 AND `amount` < 1000
    )
  ) AS `r2_failed`,
  COUNT_IF(COALESCE((
    `status` <> 'void'
  ), FALSE) AND NOT `amount` IS NULL) AS `r2_total`,
  COUNT_IF(NOT `status` IS NULL AND NOT (
    `status` IN ('open', 'paid', 'void')
  )) AS `r3_failed`,
  COUNT_IF(NOT `status` IS NULL) AS `r3_total`,
  COUNT_IF(
    NOT `status` IS NULL
    AND NOT (
      LENGTH(`status`) >= 3 AND LENGTH(`status`) <= 4
    )
  ) AS `r4_failed`,
  COUNT_IF(NOT `status` IS NULL) AS `r4_total`,
  MAX(`Created At`) AS `r5_value`,
  COALESCE(
    (
      SELECT
        STRUCT(
          SUM(n) AS `failed`,
          COUNT(*) AS `groups`,
          MAX_BY(STRUCT(`id` AS `id`, `status` AS `status`), 0, 5) AS `sample`
        )
      FROM __dq_dup_6
    ).`failed`,
    0
  ) AS `r6_failed`,
  COUNT_IF(NOT `id` IS NULL AND NOT `status` IS NULL) AS `r6_total`,
  (
    SELECT
      STRUCT(
        SUM(n) AS `failed`,
        COUNT(*) AS `groups`,
        MAX_BY(STRUCT(`id` AS `id`, `status` AS `status`), 0, 5) AS `sample`
      )
    FROM __dq_dup_6
  ).`sample` AS `r6_sample`,
  (
    SELECT
      STRUCT(
        SUM(n) AS `failed`,
        COUNT(*) AS `groups`,
        MAX_BY(STRUCT(`id` AS `id`, `status` AS `status`), 0, 5) AS `sample`
      )
    FROM __dq_dup_6
  ).`groups` AS `r6_groups`,
  COUNT_IF(NOT (
    (
      `amount` >= 0 OR `status` = 'void'
    )
  )) AS `r7_failed`,
  COUNT_IF(TRUE) AS `r7_total`,
  COUNT(*) AS `r8_value`,
  CAST(COUNT_IF(`amount` IS NULL) AS DOUBLE) / NULLIF(COUNT(*), 0) AS `r9_value`,
  COUNT(DISTINCT `status`) AS `r10_value`,
  AVG(CAST(`amount` AS DOUBLE)) AS `r11_value`,
  STDDEV_SAMP(CAST(`amount` AS DOUBLE)) AS `r12_value`,
  (
    SELECT
      COALESCE(COUNT_IF(`status` = 'paid'), 0)
    FROM __dq_data
    WHERE
      COALESCE((
        `amount` > 10
      ), FALSE)
  ) AS `r13_value`
FROM __dq_data
