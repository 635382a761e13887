"""The managers' views, rebuilt at every publish from the tables' current columns.

"Latest" means the latest *successful full* run: ``status = 'succeeded'`` and ``kind`` nightly
or adhoc, newest ``started_at`` (``run_id`` breaks ties). Campaign runs hold a filtered subset
of accounts with their own assumption overrides, so they would make the latest views jump to a
few hundred accounts; they are read through ``latest_campaign_results`` or by ``run_id``.

``segment_changes``: accounts of the latest run whose primary segment differs from the one they
had in their *previous* successful full run, i.e. the newest successful full run before the
latest one that contains the account (an account missing from the run in between is compared
with the last run that had it). Accounts new in the latest run are not listed.
"""
from __future__ import annotations

import re

import duckdb

from .schema import q, table_columns

LATEST_RUN = """
CREATE OR REPLACE VIEW latest_run AS
SELECT * FROM runs
WHERE status = 'succeeded' AND kind <> 'campaign'
ORDER BY started_at DESC, run_id DESC
LIMIT 1"""

# account attributes worth having beside the results (taken only when results lacks them)
ACCOUNT_EXTRAS = ("name", "province", "customer_type", "industry", "industry_group", "industry_family",
                  "annual_kwh", "high_energy", "is_exporter", "is_listed", "has_esg_report",
                  "re100_member", "buys_green_power", "renewable_target", "sales_rep")

# segment_summary: output column -> aggregate over latest_results (kept when the column exists)
SUMMARY = (
    ("annual_kwh", "sum(annual_kwh)"),
    ("grid_kwh", "sum(grid_kwh)"),
    ("target_kwh", "sum(target_kwh)"),
    ("current_cost_yuan", "sum(bill_yuan)"),
    ("green_cost_low_yuan", "sum(green_cost_low_yuan)"),
    ("green_cost_high_yuan", "sum(green_cost_high_yuan)"),
    ("extra_cost_low_yuan", "sum(green_cost_low_yuan) - sum(bill_yuan)"),
    ("extra_cost_high_yuan", "sum(green_cost_high_yuan) - sum(bill_yuan)"),
    ("current_co2_t", "sum(current_co2_t)"),
    ("co2_reduction_t", "sum(co2_reduction_t)"),
)

VIEW_NAMES = ("latest_run", "latest_results", "latest_scenarios", "latest_offers", "segment_summary",
              "segment_changes", "rejects_latest", "latest_campaign_results")


def _latest_results(res: dict, acc: dict) -> str:
    lead = ["r.run_id", "r.account_id"]
    lead.append("a.name" if "name" not in res else "r.name")
    for c in ("province", "customer_type"):
        lead.append(f"r.{q(c)}" if c in res else f"a.{q(c)}")
    lead += ["s.segment", "s.secondary_segments"]
    taken = {"run_id", "account_id", "name", "province", "customer_type", "segment", "secondary_segments"}
    extras = [f"a.{q(c)}" for c in ACCOUNT_EXTRAS if c in acc and c not in res and c not in taken]
    rest = [f"r.{q(c)}" for c in res if c not in taken]
    cols = ",\n       ".join(lead + extras + rest)
    return f"""
CREATE OR REPLACE VIEW latest_results AS
SELECT {cols}
FROM results r
JOIN latest_run l ON l.run_id = r.run_id
LEFT JOIN segments s ON s.run_id = r.run_id AND s.account_id = r.account_id
LEFT JOIN accounts a ON a.run_id = r.run_id AND a.account_id = r.account_id"""


def _segment_summary(latest_cols: set[str]) -> str:
    def has(expr: str) -> bool:
        return all(c in latest_cols for c in re.findall(r"sum\((\w+)\)", expr))
    aggs = ",\n       ".join(f"{expr} AS {name}" for name, expr in SUMMARY if has(expr))
    return f"""
CREATE OR REPLACE VIEW segment_summary AS
SELECT segment, province,
       count(*) AS accounts{"," if aggs else ""}
       {aggs}
FROM latest_results
GROUP BY segment, province
ORDER BY segment, province"""


# arg_max over (started_at, run_id) instead of a window: about twice as fast over long histories
SEGMENT_CHANGES = """
CREATE OR REPLACE VIEW segment_changes AS
WITH latest AS (SELECT run_id, started_at FROM latest_run),
full_runs AS (
    SELECT run_id, started_at FROM runs WHERE status = 'succeeded' AND kind <> 'campaign'),
cur AS (
    SELECT s.account_id, s.segment, s.secondary_segments, s.rules_version, s.run_id
    FROM segments s JOIN latest l ON l.run_id = s.run_id),
prev AS (
    SELECT s.account_id,
           arg_max({'segment': s.segment, 'rules_version': s.rules_version, 'run_id': s.run_id},
                   (f.started_at, f.run_id)) AS p
    FROM segments s
    JOIN full_runs f ON f.run_id = s.run_id
    CROSS JOIN latest l
    WHERE f.started_at < l.started_at OR (f.started_at = l.started_at AND f.run_id < l.run_id)
    GROUP BY s.account_id)
SELECT cur.account_id, a.name, a.province, a.customer_type,
       prev.p.segment AS previous_segment, cur.segment AS segment, cur.secondary_segments,
       prev.p.run_id AS previous_run_id, cur.run_id AS run_id,
       prev.p.rules_version AS previous_rules_version, cur.rules_version AS rules_version
FROM cur
JOIN prev USING (account_id)
LEFT JOIN accounts a ON a.run_id = cur.run_id AND a.account_id = cur.account_id
WHERE prev.p.segment IS DISTINCT FROM cur.segment
ORDER BY cur.account_id"""

SIMPLE = {
    "latest_scenarios": "SELECT t.* FROM scenarios t JOIN latest_run l ON l.run_id = t.run_id",
    "latest_offers": "SELECT t.* FROM offers t JOIN latest_run l ON l.run_id = t.run_id",
    "rejects_latest": "SELECT t.* FROM rejects t JOIN latest_run l ON l.run_id = t.run_id ORDER BY t.row_number",
    "latest_campaign_results": """
WITH c AS (
    SELECT run_id, campaign FROM runs WHERE status = 'succeeded' AND kind = 'campaign'
    QUALIFY row_number() OVER (PARTITION BY campaign ORDER BY started_at DESC, run_id DESC) = 1)
SELECT c.campaign, r.* FROM results r JOIN c ON c.run_id = r.run_id""",
}


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view; call after the tables reached their final columns for this run."""
    con.execute(LATEST_RUN)
    res = table_columns(con, "results")
    acc = table_columns(con, "accounts")
    con.execute(_latest_results(res, acc))
    con.execute(_segment_summary(set(table_columns(con, "latest_results"))))
    con.execute(SEGMENT_CHANGES)
    for name, body in SIMPLE.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
