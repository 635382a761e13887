-- Layer 2 for 总览 and the filter choices, summed: stands in for summable.sql when the run has rows in
-- `overview_cube` (warehouse/sql/tables/overview_cube.sql: one published, successful run's accounts summed
-- per segment, province, customer type and sales rep). The same filters and scope as base.sql, on that grain.
-- Parameters as base.sql.
SELECT c.segment, c.province, c.customer_type, c.sales_rep,
       c.accounts,
       c.annual_kwh, c.grid_kwh, c.bill_yuan,
       c.green_cost_low_yuan, c.green_cost_high_yuan, c.extra_cost_low_yuan, c.extra_cost_high_yuan,
       c.current_co2_t, c.co2_reduction_t
FROM overview_cube c
JOIN runs ru ON ru.run_id = c.run_id AND ru.status = 'succeeded'
WHERE c.run_id = $run_id
  AND (len($segments::VARCHAR[]) = 0 OR list_contains($segments::VARCHAR[], c.segment))
  AND (len($provinces::VARCHAR[]) = 0 OR list_contains($provinces::VARCHAR[], c.province))
  AND (len($customer_types::VARCHAR[]) = 0 OR list_contains($customer_types::VARCHAR[], c.customer_type))
  AND (len($sales_reps::VARCHAR[]) = 0 OR list_contains($sales_reps::VARCHAR[], coalesce(c.sales_rep, '')))
  AND ($scope_reps::VARCHAR[] IS NULL OR list_contains($scope_reps::VARCHAR[], c.sales_rep))
