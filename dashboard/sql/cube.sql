-- Layer 1 for 总览, summed: the rows of `overview_cube` (warehouse/sql/tables/overview_cube.sql: one
-- published, successful run's accounts summed per segment, province, customer type and sales rep) that
-- the dashboard's filters and the user's scope keep — the same predicates as base.sql, on the same grain.
-- Used only when the run has cube rows (dashboard/data.py CUBE_QUERIES); sums over it equal sums over base.
-- Parameters as base.sql.
SELECT c.*
FROM overview_cube c
JOIN runs ru ON ru.run_id = c.run_id AND ru.status = 'succeeded'
WHERE c.run_id = $run_id
  AND (len($segments::VARCHAR[]) = 0 OR list_contains($segments::VARCHAR[], c.segment))
  AND (len($provinces::VARCHAR[]) = 0 OR list_contains($provinces::VARCHAR[], c.province))
  AND (len($customer_types::VARCHAR[]) = 0 OR list_contains($customer_types::VARCHAR[], c.customer_type))
  AND (len($sales_reps::VARCHAR[]) = 0 OR list_contains($sales_reps::VARCHAR[], coalesce(c.sales_rep, '')))
  AND ($scope_reps::VARCHAR[] IS NULL OR list_contains($scope_reps::VARCHAR[], c.sales_rep))
