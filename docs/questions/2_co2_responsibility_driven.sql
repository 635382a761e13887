-- 2. How much CO2 would the responsibility-driven segment avoid at its default target?
--    责任驱动型客户按默认目标能减排多少二氧化碳？
--    Run: gp query --file docs/questions/2_co2_responsibility_driven.sql
SELECT count(*) AS accounts, sum(co2_reduction_t) AS co2_avoided_t
FROM latest_results WHERE segment = 'responsibility_driven';
