-- 4. Where does green power cost least per tonne of CO2 avoided?
--    哪里每减排一吨二氧化碳的绿电成本最低？
--    Run: gp query --file docs/questions/4_cost_per_tonne_co2.sql   (LIMIT 20: change it for more rows)
SELECT name, province, segment, (green_cost_low_yuan - bill_yuan) / co2_reduction_t AS yuan_per_t
FROM latest_results WHERE co2_reduction_t > 0 ORDER BY yuan_per_t LIMIT 20;
