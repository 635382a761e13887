-- 转化: how the lead scores of the accounts the user sees in the chosen run are spread, in 20 bins of 5 %,
-- per model version ('rule' while too few outcomes exist to train a model).
SELECT l.model_version,
       least(floor(l.score * 20), 19) / 20 AS score_low,
       count(*) AS accounts
FROM base b
JOIN lead_scores l ON l.run_id = b.run_id AND l.account_id = b.account_id
GROUP BY ALL
ORDER BY model_version, score_low
