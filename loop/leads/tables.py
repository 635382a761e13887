"""The lead tables' definitions (no model code here: every loop transaction creates them cheaply)."""
from __future__ import annotations

import duckdb

LEAD_MODELS_DDL = """CREATE TABLE IF NOT EXISTS lead_models (
    model_version VARCHAR, trained_at TIMESTAMPTZ, algorithm VARCHAR, features VARCHAR[],
    train_from VARCHAR, train_to VARCHAR, eval_period VARCHAR, outcomes BIGINT, train_rows BIGINT,
    train_positives BIGINT, eval_rows BIGINT, eval_positives BIGINT, auc DOUBLE, brier DOUBLE,
    top_decile_lift DOUBLE, current_version VARCHAR, current_auc DOUBLE, replaced BOOLEAN,
    config_sha256 VARCHAR, model_sha256 VARCHAR, model_blob BLOB)"""
LEAD_SCORES_DDL = """CREATE TABLE IF NOT EXISTS lead_scores (
    run_id VARCHAR, account_id VARCHAR, score DOUBLE, model_version VARCHAR,
    reasons STRUCT(code VARCHAR, value DOUBLE, label VARCHAR)[], scored_on DATE)"""


def ensure_lead_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LEAD_MODELS_DDL)
    con.execute(LEAD_SCORES_DDL)
