-- 细分变化, headline: how many filtered accounts changed segment, their kWh and the CO2 they could avoid.
SELECT count(*) AS accounts,
       sum(annual_kwh) AS annual_kwh,
       sum(co2_reduction_t) AS co2_reduction_t
FROM changes
