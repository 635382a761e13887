-- The newest run attempt of any status: a failed night is news for the managers.
SELECT run_id, kind, campaign, status, started_at, finished_at, error
FROM runs
ORDER BY started_at DESC, run_id DESC
LIMIT 1
