-- The values each filter offers for one run (before any filter is applied), with their account counts.
SELECT 'segment' AS filter, s.segment AS value, count(*) AS accounts
FROM results r LEFT JOIN segments s ON s.run_id = r.run_id AND s.account_id = r.account_id
WHERE r.run_id = $run_id GROUP BY ALL
UNION ALL
SELECT 'province', r.province, count(*) FROM results r WHERE r.run_id = $run_id GROUP BY ALL
UNION ALL
SELECT 'customer_type', r.customer_type, count(*) FROM results r WHERE r.run_id = $run_id GROUP BY ALL
UNION ALL
SELECT 'sales_rep', coalesce(a.sales_rep, ''), count(*) FROM accounts a WHERE a.run_id = $run_id GROUP BY ALL
ORDER BY filter, accounts DESC, value
