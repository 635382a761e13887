-- wilson_low(k, n), wilson_high(k, n): the 95 % Wilson score interval of k successes in n trials
-- (z = 1.959963984540054, no continuity correction; equal to
-- scipy.stats.binomtest(k, n).proportion_ci(method="wilson") to 1e-12). One definition for the
-- warehouse's offer_funnel and the dashboard's 转化 page; DuckDB 1.x clients read and call them too.
CREATE OR REPLACE MACRO wilson_low(k, n) AS
    greatest(0.0, (k / n + 1.959963984540054 ** 2 / (2 * n)
                   - 1.959963984540054 * sqrt((k / n) * (1 - k / n) / n + 1.959963984540054 ** 2 / (4 * n * n)))
                  / (1 + 1.959963984540054 ** 2 / n));
CREATE OR REPLACE MACRO wilson_high(k, n) AS
    least(1.0, (k / n + 1.959963984540054 ** 2 / (2 * n)
                + 1.959963984540054 * sqrt((k / n) * (1 - k / n) / n + 1.959963984540054 ** 2 / (4 * n * n)))
               / (1 + 1.959963984540054 ** 2 / n));
