-- 转化: the funnel of the offers sent to the accounts the user sees in the chosen run (`base`: filters and
-- scope), every offer since the loop began (offer_outcomes: credited to the segment and edition at issue),
-- overall and by edition and segment, with the 95 % Wilson interval of the conversion — the same
-- formula as the warehouse's offer_funnel view, so with no filter the 'all' row equals offer_funnel's.
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
    FROM long GROUP BY dimension, value),
w AS (SELECT *, accepted / sent AS p, 1.959963984540054 AS z FROM counts)
SELECT dimension, value, sent, responded, meeting, accepted,
       responded / sent AS response_rate,
       p AS conversion,
       greatest(0.0, (p + z * z / (2 * sent) - z * sqrt(p * (1 - p) / sent + z * z / (4 * sent * sent)))
                     / (1 + z * z / sent)) AS conversion_low,
       least(1.0, (p + z * z / (2 * sent) + z * sqrt(p * (1 - p) / sent + z * z / (4 * sent * sent)))
                  / (1 + z * z / sent)) AS conversion_high
FROM w
ORDER BY CASE dimension WHEN 'all' THEN 0 WHEN 'edition' THEN 1 ELSE 2 END, value
