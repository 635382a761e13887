-- 转化: a rep's call list — the accounts the user sees in the chosen run, best lead score first, with the
-- reasons (data; the page writes them in Chinese), the latest offer and the open CRM triggers (lead_calls,
-- for the latest nightly run). $rep: one sales rep ('' = accounts without one), NULL = every rep.
SELECT row_number() OVER (ORDER BY l.score DESC, b.account_id) AS call_rank,
       b.account_id, b.name, b.province, b.sales_rep, b.segment,
       l.score, l.model_version, l.reasons,
       c.offer_no, c.valid_until, c.open_triggers
FROM base b
JOIN lead_scores l ON l.run_id = b.run_id AND l.account_id = b.account_id
LEFT JOIN lead_calls c ON c.run_id = b.run_id AND c.account_id = b.account_id
WHERE $rep::VARCHAR IS NULL OR coalesce(b.sales_rep, '') = $rep
ORDER BY call_rank
LIMIT $limit
