"""An incremental run decides from input hashes and links unchanged documents without reading them.

Real PDFs (one render process for the module): a first run, then a run with one account's figures
changed. Only the changed account's content is built; the others' files are linked (the same inodes)
and none of them is read in full except the random sample the run verifies. A document altered without
changing its size or mtime is caught by that sample, and the run then verifies every document in full.
"""
from __future__ import annotations

import datetime as dt
import os

import polars as pl
import pytest

import offers.linking
import offers.plan
from offers.demo import demo_run
from offers.render import OfferPool, render_offers

pytestmark = pytest.mark.slow      # real renders: ≈ 0.3 s of CPU per document, six documents
DAY = dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def pool():
    pool = OfferPool(1, None)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def first(pool, tmp_path_factory):
    run = demo_run(n=2)
    out = tmp_path_factory.mktemp("incremental") / "run-1"
    offers = render_offers(run.accounts, run.results, run.scenarios, run.segments, run.playbooks, run.assumptions,
                           "run-1", run.rules_version, out, pool=pool, issue_date=DAY)
    assert offers["status"].to_list() == ["rendered"] * run.accounts.height
    assert offers["input_hash"].null_count() == 0 and offers["file_mtime_ns"].null_count() == 0
    return run, out, offers.with_columns(pl.lit(str(out)).alias("folder"))


def _counting(monkeypatch):
    """Every full read of a PDF (SHA-256 of the whole file) and every offer whose content is built."""
    reads, built = [], []
    real_sha, real_build = offers.linking._file_sha256, offers.plan.build_offer

    def sha(path):
        reads.append(os.path.basename(path))
        return real_sha(path)

    def build(*args, **kwargs):
        built.append(args[0]["account_id"])
        return real_build(*args, **kwargs)

    monkeypatch.setattr(offers.plan, "_file_sha256", sha)
    monkeypatch.setattr(offers.linking, "_file_sha256", sha)
    monkeypatch.setattr(offers.plan, "build_offer", build)
    return reads, built


def _again(run, out, previous, pool, stats, results=None):
    return render_offers(run.accounts, results if results is not None else run.results, run.scenarios, run.segments,
                         run.playbooks, run.assumptions, out.name, run.rules_version, out, previous, pool=pool,
                         issue_date=DAY + dt.timedelta(days=1), stats=stats)


def test_unchanged_documents_are_linked_unread(first, pool, monkeypatch):
    run, out, previous = first
    monkeypatch.setattr(offers.plan, "VERIFY_SAMPLE", 1)
    reads, built = _counting(monkeypatch)
    changed = run.accounts["account_id"][1]
    results = run.results.with_columns(pl.when(pl.col("account_id") == changed).then(pl.col("bill_yuan") * 1.1)
                                       .otherwise(pl.col("bill_yuan")).alias("bill_yuan"))
    stats: dict = {}
    again = _again(run, out.parent / "run-2", previous, pool, stats, results)
    status = dict(zip(again["account_id"], again["status"]))
    assert status.pop(changed) == "rendered" and set(status.values()) == {"unchanged"}
    assert built == [changed], "only the changed account's content is built"
    assert len(reads) == 1, f"only the verified sample is read in full, not {reads}"
    assert stats["linked_unread"] == run.accounts.height - 1 and stats["verified_sample"] == 1
    for row in again.filter(pl.col("status") == "unchanged").iter_rows(named=True):
        old = previous.filter(pl.col("account_id") == row["account_id"]).row(0, named=True)
        assert os.stat(out.parent / "run-2" / row["path"]).st_ino == os.stat(out / row["path"]).st_ino
        assert (row["offer_no"], row["sha256"], row["input_hash"]) == (old["offer_no"], old["sha256"], old["input_hash"])


def test_a_document_altered_in_place_is_caught_by_the_sample(first, pool, monkeypatch, tmp_path):
    run, out, previous = first
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in previous["path"]:
        (copy / name).write_bytes((out / name).read_bytes())
        os.utime(copy / name, ns=(os.stat(out / name).st_atime_ns, os.stat(out / name).st_mtime_ns))
    victim = previous["path"][0]
    data = bytearray((copy / victim).read_bytes())
    data[-40] ^= 0x01                                      # same size; the mtime is put back
    st = os.stat(copy / victim)
    (copy / victim).write_bytes(bytes(data))
    os.utime(copy / victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    monkeypatch.setattr(offers.plan, "VERIFY_SAMPLE", run.accounts.height)
    reads, built = _counting(monkeypatch)
    stats: dict = {}
    again = _again(run, tmp_path / "run-3", previous.with_columns(pl.lit(str(copy)).alias("folder")), pool, stats)
    status = dict(zip(again["path"], again["status"]))
    assert stats.get("sample_failed") and status.pop(victim) == "rendered"
    assert set(status.values()) == {"unchanged"}
    assert len(built) == run.accounts.height, "with the fast path off, every content is built and compared"
