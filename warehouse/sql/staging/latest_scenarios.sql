-- latest_scenarios: every feasible PV mode of every account, for the latest run.
SELECT t.*
FROM scenarios t
JOIN {{ ref('latest_run') }} l ON l.run_id = t.run_id
