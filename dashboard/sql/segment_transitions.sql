-- 细分变化, matrix: how many filtered accounts moved from which segment to which (over segment_changes).
SELECT previous_segment, segment, count(*) AS accounts
FROM changes
GROUP BY ALL
ORDER BY accounts DESC, previous_segment, segment
