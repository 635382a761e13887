-- latest_run: the run every latest_* view shows — the newest successful *full* run
-- (status succeeded, kind nightly or adhoc; run_id breaks ties). Campaign runs hold a filtered
-- subset with their own assumption overrides and are read through latest_campaign_results.
SELECT *
FROM runs
WHERE status = 'succeeded' AND kind <> 'campaign'
ORDER BY started_at DESC, run_id DESC
LIMIT 1
