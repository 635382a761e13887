-- rejects_latest: the input problems of the latest run, in input order.
SELECT t.*
FROM rejects t
JOIN {{ ref('latest_run') }} l ON l.run_id = t.run_id
ORDER BY t.row_number
