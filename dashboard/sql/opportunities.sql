-- 机会: the accounts where green power pays: rooftop PV worth something in its best mode (NPV > 0), or
-- the green mode at the account's target costs less than today's bill (at the low premium: extra cost < 0).
-- Ranked by $order ('npv': the best PV mode's NPV; 'saving': the yearly saving at the target); the first
-- $limit (a top-N sort, not a rank over every opportunity: fast at a million accounts).
WITH o AS (
    SELECT b.*,
           CASE b.pv_best_mode WHEN 'self' THEN b.pv_npv_yuan
                               WHEN 'third_party' THEN b.pv_third_party_npv_yuan END AS best_npv_yuan,
           -b.extra_cost_low_yuan AS saving_high_yuan,
           -b.extra_cost_high_yuan AS saving_low_yuan,
           CASE WHEN $order = 'saving' THEN -b.extra_cost_low_yuan ELSE best_npv_yuan END AS sort_1,
           CASE WHEN $order = 'saving' THEN best_npv_yuan ELSE -b.extra_cost_low_yuan END AS sort_2
    FROM base b
),
top AS (
    SELECT * FROM o
    WHERE coalesce(best_npv_yuan > 0, false) OR coalesce(saving_high_yuan > 0, false)
    ORDER BY sort_1 DESC NULLS LAST, sort_2 DESC NULLS LAST, account_id
    LIMIT $limit
)
SELECT row_number() OVER (ORDER BY t.sort_1 DESC NULLS LAST, t.sort_2 DESC NULLS LAST, t.account_id) AS rank,
       t.account_id, t.name, t.segment,
       t.pv_best_mode, t.best_npv_yuan, t.pv_breakeven_year, t.pv_payback_years, t.pv_irr,
       t.saving_high_yuan, t.saving_low_yuan, t.co2_reduction_t, t.pv_capacity_kw,
       t.province, t.customer_type, t.sales_rep,
       coalesce(t.best_npv_yuan > 0, false) AS pv_pays,
       coalesce(t.saving_high_yuan > 0, false) AS saves_at_target,
       f.status AS offer_status
FROM top t
LEFT JOIN offers f ON f.run_id = t.run_id AND f.account_id = t.account_id
ORDER BY rank
