-- edition_results: per experiment and segment, each arm against the reference arm (control, or the
-- first arm when there is none). The statistics are computed in Python with scipy (loop/stats.py)
-- and stored in edition_stats at every import and after every run; this view is what managers read.
CREATE OR REPLACE VIEW edition_results AS
SELECT experiment, segment, arm, reference_arm, offers, accepted, conversion, conversion_low, conversion_high,
       difference, difference_low, difference_high, p_value, significant, winner, offers_needed_per_arm,
       more_offers_needed, computed_at
FROM edition_stats
ORDER BY experiment, segment, arm_order;
