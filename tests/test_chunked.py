"""A list processed in chunks stores the same tables as the whole list, also on a Dask cluster.

The list is cut into chunks of 5 rows, and its duplicates and rejects straddle the borders: a duplicate
id three chunks after its first row, one whose first row is itself rejected, one written with spaces
and full-width digits, rejects as the last row of a chunk and the first of the next, a blank row (dropped,
its number kept) and a missing id.
"""
from __future__ import annotations

import duckdb
import polars as pl
import pytest
from prefect import flow

from flows import steps
from flows.parameters import NightlyParameters
from flows.pipeline import process
from synthetic import generate_customers

CHUNK = 5
TABLES = {"accounts": ["account_id"], "rejects": ["row_number"], "segments": ["account_id"],
          "results": ["account_id"], "scenarios": ["account_id", "pv_mode"]}
FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def _straddling_list(path):
    rows = generate_customers(40, seed=3).cast(pl.Utf8).to_dicts()
    ids = [r["account_id"] for r in rows]
    rows[6]["account_id"] = ids[1]                      # chunk 1 repeats chunk 0's id
    rows[9]["annual_kwh"] = "-5"                        # rejected ...
    rows[12]["account_id"] = ids[9]                     # ... and still the first holder of its id
    rows[16]["account_id"] = ids[15]                    # a duplicate inside one chunk
    rows[20]["account_id"] = " " + ids[2].translate(FULLWIDTH_DIGITS) + " "   # the same id, written otherwise
    rows[4]["province"] = "Atlantis"                    # last row of chunk 0
    rows[5]["share_peak"] = "0.9"                       # first row of chunk 1 (shares no longer add up)
    rows[5]["share_flat"] = "0.9"
    rows[24] = {k: None for k in rows[24]}              # blank: dropped, the rows after keep their numbers
    rows[26]["account_id"] = "N/A"                      # no id
    rows[35]["account_id"] = ids[34]                    # across the border of chunks 6 and 7
    pl.DataFrame(rows).write_csv(path)
    return path


@pytest.fixture(scope="module")
def customers(tmp_path_factory):
    return _straddling_list(tmp_path_factory.mktemp("chunked") / "customers.csv")


def _tables(db) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        out = {}
        for name, key in TABLES.items():
            frame = con.sql(f"SELECT * FROM {name}").pl().drop("run_id")
            out[name] = frame.sort(key)
        out["runs"] = con.sql("SELECT rows_read, rows_accepted, rows_rejected, input_sha256 FROM runs").pl()
    return out


@flow(name="whole list")
def _whole(params: NightlyParameters) -> dict:
    """The whole-list path (``pipeline.process``) without PDFs."""
    config = steps.load_configuration(params.assumptions)
    checked = steps.load_customers(params.customers)
    return process(checked.accounts, checked.rejects, checked.rows_read, config, params, kind="nightly",
                   campaign=None, input_path=str(params.customers), input_sha256=checked.input_sha256,
                   input_files=checked.data_files).as_dict()


def _whole_run(customers, db):
    return _whole(NightlyParameters(customers=customers, db=db, render_pdf=False))


@pytest.fixture(scope="module")
def whole(prefect_harness, customers, tmp_path_factory):
    db = tmp_path_factory.mktemp("whole") / "gp.duckdb"
    summary = _whole_run(customers, db)
    return summary, _tables(db)


def _assert_same(tables, expected):
    for name in TABLES:
        assert tables[name].equals(expected[name]), name
    assert tables["runs"].equals(expected["runs"])


def test_chunked_run_stores_the_whole_runs_tables(prefect_harness, customers, whole, tmp_path):
    from flows.nightly import nightly
    from flows.parameters import NightlyParameters

    summary_whole, expected = whole
    # the list exercises what it should: duplicates and rejects on both sides of chunk borders
    rejects = expected["rejects"]
    assert rejects.filter(pl.col("reason").str.contains("duplicate account_id"))["row_number"].to_list() == \
        [8, 14, 18, 22, 37]
    assert "first seen in row 11" in rejects.filter(pl.col("row_number") == 14)["reason"].item()
    assert {6, 7, 11, 28} <= set(rejects["row_number"].to_list())
    assert expected["runs"].row(0)[:3] == (39, 30, 9)

    summary = nightly(NightlyParameters(customers=customers, db=tmp_path / "gp.duckdb", render_pdf=False,
                                        chunk_rows=CHUNK))
    _assert_same(_tables(tmp_path / "gp.duckdb"), expected)
    assert [s["segment"] for s in summary["segments"]] == [s["segment"] for s in summary_whole["segments"]]
    for got, want in zip(summary["segments"], summary_whole["segments"]):    # sums added in another order
        assert {k: v for k, v in got.items() if k != "segment"} == \
            pytest.approx({k: v for k, v in want.items() if k != "segment"}, rel=1e-12)
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_rejected"]) == (39, 30, 9)


def test_streamed_reader_gives_the_whole_reads_rows(customers, tmp_path):
    """Blocks cut at record ends (a quoted line break inside a value) and a BOM give the whole read's rows."""
    from intake.load import read_customer_file
    from intake.stream import CustomerChunks

    text = customers.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = text[3].split(",")
    cells[1] = '"' + cells[1] + '\n有限公司 ""总部"""'                       # a name across two lines, quotes
    text[3] = ",".join(cells)
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b"\xef\xbb\xbf" + "".join(text).encode("utf-8"))
    import intake.stream as stream
    for block in (64, 1 << 20):                  # the header in a 4 KB first block, then tiny ones: many cuts
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stream, "BLOCK_BYTES", block)
            patch.setattr(stream, "_SNIFF_CHARS", 1024)
            chunks = CustomerChunks(quoted, chunk_rows=CHUNK)
            frames = [c.frame for c in chunks]
        whole = read_customer_file(quoted)
        assert chunks.streamed and chunks.encoding == "utf-8-sig" and chunks.sha256 == whole.sha256
        assert pl.concat(frames, how="diagonal").select(whole.frame.columns).equals(whole.frame)
        assert max(f.height for f in frames) <= CHUNK


@pytest.mark.slow   # a cluster of two worker processes: seconds to start on 2 cores; 4 partitions of 10 rows
def test_dask_partitions_store_the_local_runs_tables(prefect_harness, customers, whole, tmp_path):
    from distributed import LocalCluster

    from flows.nightly import nightly
    from flows.parameters import NightlyParameters

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        summary = nightly(NightlyParameters(customers=customers, db=tmp_path / "gp.duckdb", render_pdf=False,
                                            chunk_rows=2 * CHUNK, dask_address=cluster.scheduler_address))
    _assert_same(_tables(tmp_path / "gp.duckdb"), whole[1])
    assert summary["rows_rejected"] == 9
    assert not list(tmp_path.glob("*.parts")), "the partitions are removed once gathered"
