-- peerbench's 17 checks as one hand-written PostgreSQL statement (the floor dq check
-- --engine postgres is measured against, benchmarks/bench_postgres.py): every row check
-- a count(*) FILTER, the key check one GROUP BY, the metrics plain aggregates. Same
-- semantics as suite.json: value checks ignore NULLs, bounds inclusive.
WITH dup AS (SELECT count(*) AS n FROM peerbench GROUP BY id HAVING count(*) > 1)
SELECT
  count(*) FILTER (WHERE age IS NULL) AS age_not_null,
  count(*) FILTER (WHERE email IS NULL) AS email_not_null,
  count(*) FILTER (WHERE country IS NULL) AS country_not_null,
  (SELECT coalesce(sum(n), 0) FROM dup) AS id_unique,
  count(*) FILTER (WHERE NOT (age BETWEEN 0 AND 120)) AS age_between,
  count(*) FILTER (WHERE NOT (score BETWEEN 0.0 AND 1.0)) AS score_between,
  count(*) FILTER (WHERE NOT (start_ts BETWEEN '2023-01-01 00:00:00' AND '2025-01-01 00:00:00')) AS start_ts_between,
  count(*) FILTER (WHERE country NOT IN ('US', 'GB', 'DE', 'FR', 'IN', 'BR', 'JP', 'CN', 'CA', 'AU')) AS country_in_set,
  count(*) FILTER (WHERE email !~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$') AS email_regex,
  count(*) FILTER (WHERE NOT (length(product_code) BETWEEN 6 AND 12)) AS product_code_length,
  count(*) FILTER (WHERE NOT (end_ts >= start_ts)) AS ts_order,
  count(*) FILTER (WHERE split = 'train' AND label IS NULL) AS label_not_null_if_train,
  count(*) AS row_count_between,
  avg(income) AS income_mean_between,
  max(score) AS score_max_between,
  min(income) AS income_min_between,
  count(*) FILTER (WHERE weight IS NULL)::float8 / count(*) AS weight_null_fraction_max
FROM peerbench;
