-- 地区: the 总览 figures per province, plus the opportunities of 机会, for a ranked chart and a table.
SELECT province,
       count(*) AS accounts,
       sum(annual_kwh) AS annual_kwh,
       sum(bill_yuan) AS current_cost_yuan,
       sum(green_cost_low_yuan) AS green_cost_low_yuan,
       sum(green_cost_high_yuan) AS green_cost_high_yuan,
       sum(extra_cost_low_yuan) AS extra_cost_low_yuan,
       sum(extra_cost_high_yuan) AS extra_cost_high_yuan,
       sum(co2_reduction_t) AS co2_reduction_t,
       count(*) FILTER (WHERE CASE pv_best_mode WHEN 'self' THEN pv_npv_yuan
                                                WHEN 'third_party' THEN pv_third_party_npv_yuan END > 0
                           OR extra_cost_low_yuan < 0) AS opportunities,
       count(*) FILTER (WHERE extra_cost_low_yuan < 0) / count(*) AS saving_share
FROM base
GROUP BY province
ORDER BY co2_reduction_t DESC NULLS LAST, province
