-- latest_campaign_results: the results of each campaign's latest successful run, with its name.
WITH c AS (
    SELECT run_id, campaign FROM runs WHERE status = 'succeeded' AND kind = 'campaign'
    QUALIFY row_number() OVER (PARTITION BY campaign ORDER BY started_at DESC, run_id DESC) = 1)
SELECT c.campaign, r.*
FROM results r
JOIN c ON c.run_id = r.run_id
