-- How one run went: rows read / accepted / rejected, offers rendered / unchanged / failed, its assumption set.
SELECT run_id, kind, campaign, status, started_at, finished_at,
       epoch(finished_at - started_at) AS duration_s,
       rows_read, rows_accepted, rows_rejected,
       offers_rendered, offers_skipped AS offers_unchanged, offers_failed,
       assumptions ->> 'name' AS assumption_set,
       assumptions ->> 'title' AS assumption_title,
       rules_version, code_version
FROM runs
WHERE run_id = $run_id
