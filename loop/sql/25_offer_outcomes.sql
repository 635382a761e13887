-- offer_outcomes: one row per offer sent (loop_offers without the held-out control rows), credited as
-- loop_offers credits it, with how far it got: responded = ever answered with anything but no_response;
-- met = ever met, or accepted; accepted = the standing outcome (responses_current) is accepted.
-- offer_funnel counts these overall and by dimension; the dashboard's 转化 page counts them for the
-- accounts a user may see.
CREATE OR REPLACE VIEW offer_outcomes AS
WITH hist AS (
    SELECT offer_no, bool_or(outcome <> 'no_response') AS responded,
           bool_or(outcome IN ('meeting', 'accepted')) AS met
    FROM responses GROUP BY offer_no)
SELECT o.*, coalesce(h.responded, false) AS responded,
       coalesce(h.met, false) OR coalesce(c.outcome = 'accepted', false) AS met,
       coalesce(c.outcome = 'accepted', false) AS accepted,
       CASE WHEN c.outcome = 'accepted' THEN c.contracted_kwh END AS contracted_kwh
FROM loop_offers o
LEFT JOIN hist h ON h.offer_no = o.offer_no
LEFT JOIN responses_current c ON c.offer_no = o.offer_no
WHERE NOT o.held_out;
