-- loop_offers: one row per offer document (offer_no), credited to the run that first issued it:
-- its account, experiment arm, segment, province, customer type, sales rep and campaign *then*,
-- whatever the account has become since. An unchanged offer keeps its number, so later runs that
-- link the same PDF do not count it again. Control accounts' held-out rows are here too (held_out).
CREATE OR REPLACE VIEW offers_issued AS
    SELECT o.offer_no, o.account_id, o.run_id, o.experiment, o.edition, o.status, o.issued_on, o.valid_until,
           r.campaign, r.kind
    FROM offers o JOIN runs r ON r.run_id = o.run_id
    WHERE r.status = 'succeeded' AND o.offer_no IS NOT NULL
      AND o.status IN ('rendered', 'unchanged', 'held_out')
    QUALIFY row_number() OVER (PARTITION BY o.offer_no ORDER BY r.started_at, o.run_id) = 1;

CREATE OR REPLACE VIEW loop_offers AS
SELECT i.offer_no, i.account_id, i.run_id, i.campaign, i.experiment, i.edition,
       i.status = 'held_out' AS held_out, i.issued_on, i.valid_until,
       s.segment, a.name, a.province, a.customer_type, a.sales_rep
FROM offers_issued i
LEFT JOIN segments s ON s.run_id = i.run_id AND s.account_id = i.account_id
LEFT JOIN accounts a ON a.run_id = i.run_id AND a.account_id = i.account_id;
