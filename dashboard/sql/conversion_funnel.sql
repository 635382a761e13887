-- 转化: the funnel of the offers sent to the accounts the user sees in the chosen run (`base`: filters and
-- scope), every offer since the loop began (offer_outcomes: credited to the segment and edition at issue),
-- overall and by edition and segment, with the 95 % Wilson interval of the conversion (the warehouse's
-- wilson_low/wilson_high macros, as offer_funnel): with no filter the 'all' row equals offer_funnel's.
WITH f AS (
    SELECT o.* FROM offer_outcomes o JOIN base b ON b.account_id = o.account_id),
long AS (
    SELECT d.dimension, coalesce(d.value, '(none)') AS value, f.responded, f.met, f.accepted
    FROM f CROSS JOIN UNNEST([
        {'dimension': 'all', 'value': 'all'},
        {'dimension': 'edition', 'value': coalesce(f.edition, 'standard')},
        {'dimension': 'segment', 'value': f.segment}]) AS t(d)),
counts AS (
    SELECT dimension, value, count(*) AS sent, count(*) FILTER (WHERE responded) AS responded,
           count(*) FILTER (WHERE met) AS meeting, count(*) FILTER (WHERE accepted) AS accepted
    FROM long GROUP BY dimension, value)
SELECT dimension, value, sent, responded, meeting, accepted,
       responded / sent AS response_rate,
       accepted / sent AS conversion,
       wilson_low(accepted, sent) AS conversion_low,
       wilson_high(accepted, sent) AS conversion_high
FROM counts
ORDER BY CASE dimension WHEN 'all' THEN 0 WHEN 'edition' THEN 1 ELSE 2 END, value
