-- The values each filter offers for one run, with their account counts: over `summable` (the accounts, or the
-- run's sums made at publish) with no filter chosen (the caller passes empty lists), so a user's scope limits
-- the choices too (a rep sees their own name only).
SELECT 'segment' AS filter, segment AS value, CAST(sum(accounts) AS BIGINT) AS accounts FROM summable GROUP BY ALL
UNION ALL
SELECT 'province', province, CAST(sum(accounts) AS BIGINT) FROM summable GROUP BY ALL
UNION ALL
SELECT 'customer_type', customer_type, CAST(sum(accounts) AS BIGINT) FROM summable GROUP BY ALL
UNION ALL
SELECT 'sales_rep', coalesce(sales_rep, ''), CAST(sum(accounts) AS BIGINT) FROM summable GROUP BY ALL
ORDER BY filter, accounts DESC, value
