-- Layer 1, scoped_accounts: one row per account of one published, successful run, with its segment,
-- name and sales rep beside the stored results, restricted by the dashboard's filters.
-- Every page reads account-level data only through this layer (`FROM base`), so a per-user
-- restriction (a rep sees only their own accounts) is one more predicate here: $scope.
-- Parameters: $run_id; $segments, $provinces, $customer_types, $sales_reps (VARCHAR[], empty = all);
-- $scope_reps (VARCHAR[] or NULL = no restriction); $mask_residents (BOOLEAN: residents' names as ***).
SELECT r.*,
       s.segment,
       CASE WHEN $mask_residents::BOOLEAN AND r.customer_type = 'residential' THEN '***' ELSE a.name END AS name,
       a.sales_rep,
       a.industry,
       a.industry_group,
       a.annual_kwh,
       a.is_exporter
FROM results r
JOIN runs ru ON ru.run_id = r.run_id AND ru.status = 'succeeded'
LEFT JOIN segments s ON s.run_id = r.run_id AND s.account_id = r.account_id
LEFT JOIN accounts a ON a.run_id = r.run_id AND a.account_id = r.account_id
WHERE r.run_id = $run_id
  AND (len($segments::VARCHAR[]) = 0 OR list_contains($segments::VARCHAR[], s.segment))
  AND (len($provinces::VARCHAR[]) = 0 OR list_contains($provinces::VARCHAR[], r.province))
  AND (len($customer_types::VARCHAR[]) = 0 OR list_contains($customer_types::VARCHAR[], r.customer_type))
  AND (len($sales_reps::VARCHAR[]) = 0 OR list_contains($sales_reps::VARCHAR[], coalesce(a.sales_rep, '')))
  AND ($scope_reps::VARCHAR[] IS NULL OR list_contains($scope_reps::VARCHAR[], a.sales_rep))
