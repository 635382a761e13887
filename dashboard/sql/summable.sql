-- Layer 2 for 总览 and the filter choices: the filtered accounts of one run (`base`) as summable rows, one
-- per account (accounts = 1). When the run was summed at publish (warehouse/overview.py), cube.sql stands
-- in for this file with the same columns, one row per segment, province, customer type and sales rep
-- (dashboard/data.py SUMMED): the queries on top read either alike.
SELECT segment, province, customer_type, sales_rep,
       1 AS accounts,
       annual_kwh, grid_kwh, bill_yuan,
       green_cost_low_yuan, green_cost_high_yuan, extra_cost_low_yuan, extra_cost_high_yuan,
       current_co2_t, co2_reduction_t
FROM base
