-- 3. Which accounts changed segment since the previous run (CRM triggers)?
--    哪些客户的细分与上次运行相比变了（CRM 跟进线索）？
--    Run: gp query --file docs/questions/3_segment_changes.sql --xlsx changes.xlsx --chinese-headers
SELECT * FROM segment_changes;
