-- 5. What did the last run reject, and why?
--    上次运行拒绝了哪些输入行，原因是什么？
--    Run: gp query --file docs/questions/5_rejects_by_reason.sql   (row by row: SELECT * FROM rejects_latest)
SELECT reason, count(*) AS rows FROM rejects_latest GROUP BY reason ORDER BY rows DESC;
