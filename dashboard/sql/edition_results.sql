-- 转化: each experiment arm against its reference (the warehouse's edition_results: scipy statistics over
-- every account of the experiment, stored at each import and run). Whole-experiment figures cannot be
-- restricted to some accounts, so a user whose scope is limited to some reps sees none of them (the
-- page shows the per-edition funnel of their own accounts instead); the segment filter applies.
SELECT experiment, segment, arm, reference_arm, offers, accepted, conversion, conversion_low, conversion_high,
       difference, difference_low, difference_high, p_value, winner, more_offers_needed
FROM edition_results
WHERE $scope_reps::VARCHAR[] IS NULL
  AND (len($segments::VARCHAR[]) = 0 OR list_contains($segments::VARCHAR[], segment))
