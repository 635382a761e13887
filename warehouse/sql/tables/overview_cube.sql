-- overview_cube: one run's accounts summed per segment, province, customer type and sales rep — the
-- grain of every filter the dashboard's 总览 offers (and of its per-rep scope), so its first page sums a
-- few thousand rows instead of joining the run's accounts, results and segments. Filled once per run
-- at commit (warehouse/overview.py); sums of sums equal the sums over the accounts (NULLs skipped alike).
-- Parameter: $run_id.
SELECT r.run_id,
       s.segment,
       r.province,
       r.customer_type,
       a.sales_rep,
       count(*) AS accounts,
       sum(a.annual_kwh) AS annual_kwh,
       sum(r.grid_kwh) AS grid_kwh,
       sum(r.bill_yuan) AS bill_yuan,
       sum(r.green_cost_low_yuan) AS green_cost_low_yuan,
       sum(r.green_cost_high_yuan) AS green_cost_high_yuan,
       sum(r.extra_cost_low_yuan) AS extra_cost_low_yuan,
       sum(r.extra_cost_high_yuan) AS extra_cost_high_yuan,
       sum(r.current_co2_t) AS current_co2_t,
       sum(r.co2_reduction_t) AS co2_reduction_t
FROM results r
LEFT JOIN segments s ON s.run_id = r.run_id AND s.account_id = r.account_id
LEFT JOIN accounts a ON a.run_id = r.run_id AND a.account_id = r.account_id
WHERE r.run_id = $run_id
GROUP BY ALL
