-- The values each filter offers for one run, with their account counts: over `base` with no filter chosen
-- (the caller passes empty lists), so a user's scope limits the choices too (a rep sees their own name only).
SELECT 'segment' AS filter, segment AS value, count(*) AS accounts FROM base GROUP BY ALL
UNION ALL
SELECT 'province', province, count(*) FROM base GROUP BY ALL
UNION ALL
SELECT 'customer_type', customer_type, count(*) FROM base GROUP BY ALL
UNION ALL
SELECT 'sales_rep', coalesce(sales_rep, ''), count(*) FROM base GROUP BY ALL
ORDER BY filter, accounts DESC, value
