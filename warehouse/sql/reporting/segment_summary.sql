-- segment_summary: per segment and province of the latest run — accounts, kWh, the current cost (sum of
-- bills), the green cost range and what it adds, CO2 now and avoided. CO2 sums skip accounts without an
-- emission factor (西藏). A sum is left out when latest_results lacks a column it needs.
{%- set have = columns(ref('latest_results')) %}
{%- set sums = [
    ('annual_kwh', 'sum(annual_kwh)', ['annual_kwh']),
    ('grid_kwh', 'sum(grid_kwh)', ['grid_kwh']),
    ('target_kwh', 'sum(target_kwh)', ['target_kwh']),
    ('current_cost_yuan', 'sum(bill_yuan)', ['bill_yuan']),
    ('green_cost_low_yuan', 'sum(green_cost_low_yuan)', ['green_cost_low_yuan']),
    ('green_cost_high_yuan', 'sum(green_cost_high_yuan)', ['green_cost_high_yuan']),
    ('extra_cost_low_yuan', 'sum(green_cost_low_yuan) - sum(bill_yuan)', ['green_cost_low_yuan', 'bill_yuan']),
    ('extra_cost_high_yuan', 'sum(green_cost_high_yuan) - sum(bill_yuan)', ['green_cost_high_yuan', 'bill_yuan']),
    ('current_co2_t', 'sum(current_co2_t)', ['current_co2_t']),
    ('co2_reduction_t', 'sum(co2_reduction_t)', ['co2_reduction_t']),
] %}
SELECT segment, province,
       count(*) AS accounts
{%- for name, expr, needs in sums if needs | reject('in', have) | list | length == 0 %},
       {{ expr }} AS {{ name }}
{%- endfor %}
FROM {{ ref('latest_results') }}
GROUP BY segment, province
ORDER BY segment, province
