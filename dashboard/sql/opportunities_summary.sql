-- 机会, headline: how many filtered accounts have PV worth doing or save money at their target, and how much.
WITH o AS (
    SELECT CASE pv_best_mode WHEN 'self' THEN pv_npv_yuan
                             WHEN 'third_party' THEN pv_third_party_npv_yuan END AS best_npv_yuan,
           -extra_cost_low_yuan AS saving_high_yuan
    FROM base
)
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE best_npv_yuan > 0 OR saving_high_yuan > 0) AS opportunities,
       count(*) FILTER (WHERE best_npv_yuan > 0) AS pv_pays,
       coalesce(sum(best_npv_yuan) FILTER (WHERE best_npv_yuan > 0), 0) AS pv_npv_yuan,
       count(*) FILTER (WHERE saving_high_yuan > 0) AS saves_at_target,
       coalesce(sum(saving_high_yuan) FILTER (WHERE saving_high_yuan > 0), 0) AS saving_high_yuan
FROM o
