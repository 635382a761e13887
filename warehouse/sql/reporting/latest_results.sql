-- latest_results: one row per account of the latest run — its results, its segment, and the account's
-- attributes that results does not carry. Columns, in this order: run_id, account_id, name, province,
-- customer_type, segment, secondary_segments; the account attributes below that results lacks; then
-- every other results column (results grows as the cost model adds columns).
{%- set res = columns('results') %}
{%- set acc = columns('accounts') %}
{%- set lead = ['run_id', 'account_id', 'name', 'province', 'customer_type', 'segment', 'secondary_segments'] %}
{%- set account_extras = ['name', 'province', 'customer_type', 'industry', 'industry_group', 'industry_family',
                          'annual_kwh', 'high_energy', 'is_exporter', 'is_listed', 'has_esg_report',
                          're100_member', 'buys_green_power', 'renewable_target', 'sales_rep'] %}
SELECT r.run_id, r.account_id,
       {{ 'r' if 'name' in res else 'a' }}.{{ 'name' | q }},
       {{ 'r' if 'province' in res else 'a' }}.{{ 'province' | q }},
       {{ 'r' if 'customer_type' in res else 'a' }}.{{ 'customer_type' | q }},
       s.segment, s.secondary_segments
{%- for c in account_extras if c in acc and c not in res and c not in lead %},
       a.{{ c | q }}
{%- endfor %}
{%- for c in res if c not in lead %},
       r.{{ c | q }}
{%- endfor %}
FROM results r
JOIN {{ ref('latest_run') }} l ON l.run_id = r.run_id
LEFT JOIN segments s ON s.run_id = r.run_id AND s.account_id = r.account_id
LEFT JOIN accounts a ON a.run_id = r.run_id AND a.account_id = r.account_id
