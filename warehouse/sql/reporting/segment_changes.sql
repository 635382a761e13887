-- segment_changes: accounts of the latest run whose primary segment differs from the one they had in
-- their *previous* successful full run — the newest successful full run before the latest one that
-- contains the account (an account missing from the run in between is compared with the last run that
-- had it). Accounts new in the latest run are not listed.
-- arg_max over (started_at, run_id) instead of a window: about twice as fast over long histories.
WITH latest AS (SELECT run_id, started_at FROM {{ ref('latest_run') }}),
full_runs AS (
    SELECT run_id, started_at FROM runs WHERE status = 'succeeded' AND kind <> 'campaign'),
cur AS (
    SELECT s.account_id, s.segment, s.secondary_segments, s.rules_version, s.run_id
    FROM segments s JOIN latest l ON l.run_id = s.run_id),
prev AS (
    SELECT s.account_id,
           arg_max({'segment': s.segment, 'rules_version': s.rules_version, 'run_id': s.run_id},
                   (f.started_at, f.run_id)) AS p
    FROM segments s
    JOIN full_runs f ON f.run_id = s.run_id
    CROSS JOIN latest l
    WHERE f.started_at < l.started_at OR (f.started_at = l.started_at AND f.run_id < l.run_id)
    GROUP BY s.account_id)
SELECT cur.account_id, a.name, a.province, a.customer_type,
       prev.p.segment AS previous_segment, cur.segment AS segment, cur.secondary_segments,
       prev.p.run_id AS previous_run_id, cur.run_id AS run_id,
       prev.p.rules_version AS previous_rules_version, cur.rules_version AS rules_version
FROM cur
JOIN prev USING (account_id)
LEFT JOIN accounts a ON a.run_id = cur.run_id AND a.account_id = cur.account_id
WHERE prev.p.segment IS DISTINCT FROM cur.segment
ORDER BY cur.account_id
