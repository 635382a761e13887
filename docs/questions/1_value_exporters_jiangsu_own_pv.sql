-- 1. Which value-oriented exporters in 江苏 save money with self-owned PV?
--    哪些江苏的价值导向型出口企业自建光伏能省钱？
--    Run: gp query --file docs/questions/1_value_exporters_jiangsu_own_pv.sql [--xlsx out.xlsx --chinese-headers]
--    Change the province (江苏省) or the segment (compliance_driven / value_oriented / responsibility_driven).
SELECT r.name, r.pv_capacity_kw, r.pv_irr, r.pv_npv_yuan, r.green_cost_low_yuan - r.bill_yuan AS change_yuan
FROM latest_results r JOIN accounts a ON a.run_id = r.run_id AND a.account_id = r.account_id
WHERE r.segment = 'value_oriented' AND a.is_exporter AND r.province = '江苏省'
  AND r.pv_mode = 'self' AND r.pv_npv_yuan >= 0
ORDER BY r.pv_npv_yuan DESC;
