-- The values each filter offers, with their account counts (filter_options.sql), from the run's overview_cube rows.
SELECT 'segment' AS filter, segment AS value, CAST(sum(accounts) AS BIGINT) AS accounts FROM cube GROUP BY ALL
UNION ALL
SELECT 'province', province, CAST(sum(accounts) AS BIGINT) FROM cube GROUP BY ALL
UNION ALL
SELECT 'customer_type', customer_type, CAST(sum(accounts) AS BIGINT) FROM cube GROUP BY ALL
UNION ALL
SELECT 'sales_rep', coalesce(sales_rep, ''), CAST(sum(accounts) AS BIGINT) FROM cube GROUP BY ALL
ORDER BY filter, accounts DESC, value
