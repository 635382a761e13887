-- 转化: the scores of the accounts the user sees in the chosen run, and the model that made them with its
-- checks on the latest period (lead_models; none for 'rule').
WITH s AS (
    SELECT count(*) AS accounts, avg(l.score) AS mean_score, min(l.model_version) AS model_version,
           count(DISTINCT l.model_version) AS model_versions, max(l.scored_on) AS scored_on
    FROM base b
    JOIN lead_scores l ON l.run_id = b.run_id AND l.account_id = b.account_id)
SELECT s.*, m.trained_at, m.train_from, m.train_to, m.eval_period, m.eval_rows, m.auc, m.brier, m.top_decile_lift
FROM s LEFT JOIN lead_models m ON m.model_version = s.model_version
