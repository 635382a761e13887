-- latest_offers: the offers (PDF files) of the latest run.
SELECT t.*
FROM offers t
JOIN {{ ref('latest_run') }} l ON l.run_id = t.run_id
