-- 细分变化: accounts of the run whose primary segment differs from the one they had in their previous
-- successful full run (the newest successful nightly/adhoc run before this one that holds the account) —
-- the warehouse view `segment_changes`, for any run. Filters apply to the account as it is in this run.
WITH this AS (SELECT run_id, started_at FROM runs WHERE run_id = $run_id),
full_runs AS (
    SELECT run_id, started_at FROM runs WHERE status = 'succeeded' AND kind <> 'campaign'),
prev AS (
    SELECT s.account_id,
           arg_max({'segment': s.segment, 'run_id': s.run_id}, (f.started_at, f.run_id)) AS p
    FROM segments s
    JOIN full_runs f ON f.run_id = s.run_id
    CROSS JOIN this t
    WHERE f.started_at < t.started_at OR (f.started_at = t.started_at AND f.run_id < t.run_id)
    GROUP BY s.account_id)
SELECT b.account_id, b.name, b.province, b.customer_type, b.sales_rep,
       prev.p.segment AS previous_segment, b.segment,
       prev.p.run_id AS previous_run_id, b.run_id,
       b.annual_kwh, b.extra_cost_low_yuan, b.co2_reduction_t
FROM base b
JOIN prev USING (account_id)
WHERE prev.p.segment IS DISTINCT FROM b.segment
ORDER BY b.account_id
