-- 机会: the accounts where green power pays: rooftop PV worth something in its best mode (NPV > 0), or
-- the green mode at the account's target costs less than today's bill (at the low premium: extra cost < 0).
-- Ranked by $order ('npv': the best PV mode's NPV; 'saving': the yearly saving at the target).
WITH o AS (
    SELECT b.*,
           CASE b.pv_best_mode WHEN 'self' THEN b.pv_npv_yuan
                               WHEN 'third_party' THEN b.pv_third_party_npv_yuan END AS best_npv_yuan,
           -b.extra_cost_low_yuan AS saving_high_yuan,
           -b.extra_cost_high_yuan AS saving_low_yuan
    FROM base b
)
SELECT row_number() OVER (ORDER BY
           CASE WHEN $order = 'saving' THEN o.saving_high_yuan ELSE o.best_npv_yuan END DESC NULLS LAST,
           CASE WHEN $order = 'saving' THEN o.best_npv_yuan ELSE o.saving_high_yuan END DESC NULLS LAST,
           o.account_id) AS rank,
       o.account_id, o.name, o.segment,
       o.pv_best_mode, o.best_npv_yuan, o.pv_breakeven_year, o.pv_payback_years, o.pv_irr,
       o.saving_high_yuan, o.saving_low_yuan, o.co2_reduction_t, o.pv_capacity_kw,
       o.province, o.customer_type, o.sales_rep,
       coalesce(o.best_npv_yuan > 0, false) AS pv_pays,
       coalesce(o.saving_high_yuan > 0, false) AS saves_at_target,
       f.status AS offer_status,
       count(*) OVER () AS total_opportunities
FROM o
LEFT JOIN offers f ON f.run_id = o.run_id AND f.account_id = o.account_id
WHERE coalesce(o.best_npv_yuan > 0, false) OR coalesce(o.saving_high_yuan > 0, false)
ORDER BY rank
LIMIT $limit
