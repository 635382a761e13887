-- crm_triggers: accounts of the latest run to contact, and why (marketing paper 3.3):
--   segment_changed  primary segment differs from the account's previous successful run
--   offer_expiring   its offer expires within {expiring_within_days} days and has no response
--   renewal_due      its latest acceptance is {renewal_after_days} days old or more
--   premium_changed  a compliance-driven (price-sensitive) customer whose green premium (green cost
--                    low - bill, 元/year) moved by more than {premium_change_share} of the previous one
-- The thresholds come from data/loop/editions.yaml (triggers).
CREATE OR REPLACE VIEW crm_triggers AS
WITH acc AS (
    SELECT a.account_id, a.name, a.province, a.sales_rep, s.segment
    FROM accounts a JOIN latest_run l ON l.run_id = a.run_id
    LEFT JOIN segments s ON s.run_id = a.run_id AND s.account_id = a.account_id),
sent AS (
    SELECT o.account_id, o.offer_no, o.valid_until FROM offers o JOIN latest_run l ON l.run_id = o.run_id
    WHERE o.status IN ('rendered', 'unchanged') AND o.offer_no IS NOT NULL),
accepted AS (
    SELECT o.account_id, c.offer_no, c.responded_on
    FROM responses_current c JOIN loop_offers o ON o.offer_no = c.offer_no
    WHERE c.outcome = 'accepted'
    QUALIFY row_number() OVER (PARTITION BY o.account_id ORDER BY c.responded_on DESC, c.offer_no DESC) = 1),
-- premium:begin
prev_full AS (
    SELECT r.account_id,
           arg_max(r.green_cost_low_yuan - r.bill_yuan, (u.started_at, u.run_id)) AS premium_yuan
    FROM results r JOIN runs u ON u.run_id = r.run_id CROSS JOIN latest_run l
    WHERE u.status = 'succeeded' AND u.kind <> 'campaign'
      AND (u.started_at < l.started_at OR (u.started_at = l.started_at AND u.run_id < l.run_id))
    GROUP BY r.account_id),
-- premium:end
none AS (SELECT 1)
SELECT 'segment_changed' AS trigger, c.account_id, a.name, a.province, a.sales_rep, c.segment,
       CAST(NULL AS VARCHAR) AS offer_no, CAST(NULL AS DATE) AS due_on,
       'segment ' || coalesce(c.previous_segment, '?') || ' -> ' || c.segment AS detail
FROM segment_changes c JOIN acc a ON a.account_id = c.account_id
UNION ALL
SELECT 'offer_expiring', a.account_id, a.name, a.province, a.sales_rep, a.segment, s.offer_no, s.valid_until,
       'offer valid until ' || CAST(s.valid_until AS VARCHAR) || ', no response yet'
FROM sent s JOIN acc a ON a.account_id = s.account_id
LEFT JOIN responses_current c ON c.offer_no = s.offer_no
WHERE c.offer_no IS NULL AND s.valid_until BETWEEN current_date AND current_date + {expiring_within_days}
UNION ALL
SELECT 'renewal_due', a.account_id, a.name, a.province, a.sales_rep, a.segment, x.offer_no,
       CAST(x.responded_on + {renewal_after_days} AS DATE),
       'accepted on ' || CAST(x.responded_on AS VARCHAR)
FROM accepted x JOIN acc a ON a.account_id = x.account_id
WHERE x.responded_on + {renewal_after_days} <= current_date
-- premium:begin
UNION ALL
SELECT 'premium_changed', a.account_id, a.name, a.province, a.sales_rep, a.segment,
       CAST(NULL AS VARCHAR), CAST(NULL AS DATE),
       'green premium ' || CAST(round(p.premium_yuan) AS VARCHAR) || ' -> '
           || CAST(round(r.green_cost_low_yuan - r.bill_yuan) AS VARCHAR) || ' yuan/year'
FROM latest_results r JOIN acc a ON a.account_id = r.account_id
JOIN prev_full p ON p.account_id = r.account_id
WHERE r.segment = 'compliance_driven'
  AND abs((r.green_cost_low_yuan - r.bill_yuan) - p.premium_yuan)
      > {premium_change_share} * greatest(abs(p.premium_yuan), 1)
-- premium:end
ORDER BY trigger, account_id;
