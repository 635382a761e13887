-- 总览: per segment (and the total, segment NULL) of the filtered accounts: accounts, kWh, today's cost,
-- green cost low-high, the change against today, CO2 today and avoided (over `summable`: the accounts, or
-- the run's sums made at publish).
SELECT segment,
       grouping(segment) = 1 AS is_total,
       CAST(sum(accounts) AS BIGINT) AS accounts,
       sum(annual_kwh) AS annual_kwh,
       sum(grid_kwh) AS grid_kwh,
       sum(bill_yuan) AS current_cost_yuan,
       sum(green_cost_low_yuan) AS green_cost_low_yuan,
       sum(green_cost_high_yuan) AS green_cost_high_yuan,
       sum(extra_cost_low_yuan) AS extra_cost_low_yuan,
       sum(extra_cost_high_yuan) AS extra_cost_high_yuan,
       sum(current_co2_t) AS current_co2_t,
       sum(co2_reduction_t) AS co2_reduction_t
FROM summable
GROUP BY GROUPING SETS ((segment), ())
ORDER BY is_total, segment
