-- lead_calls: whom each sales rep should call next, and why — the lead scores of the latest successful
-- nightly run (lead_scores), best first per rep, with the account, its latest offer (number, file,
-- valid-until; from whichever run issued it) and its open CRM triggers. model_version is the model's
-- version, or 'rule' while there are too few outcomes to train one (data/loop/leads.yaml min_outcomes).
-- The reasons are data (code, value, label); the call list and the dashboard turn them into Chinese text.
CREATE OR REPLACE VIEW lead_calls AS
WITH trig AS (
    SELECT account_id, string_agg(DISTINCT trigger, ',' ORDER BY trigger) AS open_triggers
    FROM crm_triggers GROUP BY account_id),
latest_offer AS (
    SELECT i.account_id, arg_max({'offer_no': i.offer_no, 'run_id': i.run_id, 'valid_until': i.valid_until},
                                 (i.issued_on, i.offer_no)) AS o
    FROM offers_issued i WHERE i.status <> 'held_out' GROUP BY i.account_id)
SELECT a.sales_rep,
       row_number() OVER (PARTITION BY a.sales_rep ORDER BY l.score DESC, l.account_id) AS call_rank,
       l.account_id, a.name, a.province, a.customer_type, s.segment,
       l.score, l.model_version, l.reasons, l.scored_on,
       lo.o.offer_no AS offer_no, f.path AS offer_path, ru.output_folder AS offer_folder,
       lo.o.valid_until AS valid_until, t.open_triggers, l.run_id
FROM lead_scores l
JOIN latest_run lr ON lr.run_id = l.run_id
JOIN accounts a ON a.run_id = l.run_id AND a.account_id = l.account_id
LEFT JOIN segments s ON s.run_id = l.run_id AND s.account_id = l.account_id
LEFT JOIN latest_offer lo ON lo.account_id = l.account_id
LEFT JOIN offers f ON f.run_id = lo.o.run_id AND f.offer_no = lo.o.offer_no
LEFT JOIN runs ru ON ru.run_id = lo.o.run_id
LEFT JOIN trig t ON t.account_id = l.account_id
ORDER BY a.sales_rep, call_rank;
