-- The runs a manager can look at: successful ones only (a failed run publishes no rows), newest first;
-- is_latest marks the run the warehouse's latest_* views show (newest successful nightly/adhoc run).
WITH latest AS (
    SELECT run_id FROM runs WHERE status = 'succeeded' AND kind <> 'campaign'
    ORDER BY started_at DESC, run_id DESC LIMIT 1)
SELECT run_id, kind, campaign, started_at, finished_at,
       assumptions ->> 'name' AS assumption_set,
       run_id IN (SELECT run_id FROM latest) AS is_latest
FROM runs
WHERE status = 'succeeded'
ORDER BY started_at DESC, run_id DESC
