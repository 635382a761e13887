-- offer_funnel: offers sent -> responded -> meeting -> accepted, overall and by segment, edition,
-- province, customer type, sales rep and campaign (dimension, value), with the conversion
-- (accepted / sent) and its 95 % Wilson score interval (wilson_low/wilson_high, 05_wilson.sql).
-- Stages as offer_outcomes defines them (meeting = met). Held-out (control) accounts are not sent offers.
CREATE OR REPLACE VIEW offer_funnel AS
WITH f AS (SELECT * FROM offer_outcomes),
long AS (
    SELECT d.dimension, coalesce(d.value, '(none)') AS value, f.responded, f.met, f.accepted, f.contracted_kwh
    FROM f CROSS JOIN UNNEST([
        {'dimension': 'all', 'value': 'all'},
        {'dimension': 'segment', 'value': f.segment},
        {'dimension': 'edition', 'value': coalesce(f.edition, 'standard')},
        {'dimension': 'province', 'value': f.province},
        {'dimension': 'customer_type', 'value': f.customer_type},
        {'dimension': 'sales_rep', 'value': f.sales_rep},
        {'dimension': 'campaign', 'value': coalesce(f.campaign, '(nightly)')}]) AS t(d)),
counts AS (
    SELECT dimension, value, count(*) AS sent, count(*) FILTER (WHERE responded) AS responded,
           count(*) FILTER (WHERE met) AS meeting, count(*) FILTER (WHERE accepted) AS accepted,
           sum(contracted_kwh) AS contracted_kwh
    FROM long GROUP BY dimension, value)
SELECT dimension, value, sent, responded, meeting, accepted, contracted_kwh,
       responded / sent AS response_rate,
       accepted / sent AS conversion,
       wilson_low(accepted, sent) AS conversion_low,
       wilson_high(accepted, sent) AS conversion_high
FROM counts
ORDER BY CASE dimension WHEN 'all' THEN 0 WHEN 'segment' THEN 1 WHEN 'edition' THEN 2 WHEN 'province' THEN 3
                        WHEN 'customer_type' THEN 4 WHEN 'sales_rep' THEN 5 ELSE 6 END, value;
