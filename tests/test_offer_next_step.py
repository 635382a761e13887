"""The next step on page 1: reps file, response URL and QR code, offer number and dates (offers.md item 1)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import segno

from offers.branding import Branding, BrandingError, load_branding
from offers.context import offer_meta
from offers.offer_number import check_code, make_offer_no, verify_response_code
from offers.qr import QUIET_ZONE, qr_svg
from offers.reps import RepsError, load_reps

DAY = dt.date(2026, 12, 2)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reps.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_reps_file_is_valid_and_hashed():
    reps = load_reps()
    assert len(reps.sha256) == 64 and reps.record()["reps"] >= 50
    rep = reps.contact_for("王磊")
    assert rep["is_rep"] and rep["name"] == "王磊" and re.match(r"^[0-9 \-]+$", rep["phone"]) and "@" in rep["email"]


def test_unknown_or_missing_rep_gets_the_division_line():
    reps = load_reps()
    for name in (None, "", "  ", "不存在的人"):
        contact = reps.contact_for(name)
        assert not contact["is_rep"] and contact["name"] == reps.division.name and contact["phone"] == reps.division.phone


@pytest.mark.parametrize("body, where", [
    ("division: {name: 中心, phone: '95598', email: a@example.com}\nreps:\n  王磊: {phone: 'call me', email: w@example.com}\n",
     "reps.王磊.phone"),
    ("division: {name: 中心, phone: '95598', email: a@example.com}\nreps:\n  王磊: {phone: '025-1', email: not-an-email}\n",
     "reps.王磊.email"),
    ("reps: {}\n", "division"),
    ("division: {name: 中心, phone: '95598', email: a@example.com}\nreps:\n  王磊: {phone: '025-8420 1001', email: w@example.com, fax: 1}\n",
     "reps.王磊.fax"),
])
def test_a_bad_reps_file_names_the_file_and_the_key(tmp_path, body, where):
    path = write(tmp_path, body)
    with pytest.raises(RepsError) as err:
        load_reps(path)
    assert str(path) in str(err.value) and where in str(err.value)


def test_response_url_template_is_checked():
    base = load_branding().model_dump()
    for bad in ("http://x.example.com/{code}", "https://x.example.com/{name}", "https://x.example.com/r",
                "https://x.example.com/{offer_no}?n={customer}"):
        with pytest.raises(ValueError):
            Branding(**{**base, "response_url_template": bad})
    assert Branding(**{**base, "response_url_template": None}).response_url_template is None
    assert Branding(**{**base, "valid_days": 45}).valid_days == 45
    with pytest.raises(ValueError):
        Branding(**{**base, "valid_days": 0})


def test_bad_branding_file_names_the_key(tmp_path):
    text = Path(load_branding.__globals__["default_branding_path"]()).read_text(encoding="utf-8")
    path = tmp_path / "branding.yaml"
    path.write_text(text.replace('response_url_template: "https://', 'response_url_template: "ftp://'), encoding="utf-8")
    with pytest.raises(BrandingError, match="response_url_template"):
        load_branding(path)


def test_meta_carries_number_check_code_dates_and_a_qr_of_the_url():
    meta = offer_meta("run-1", "f" * 64, "cn-2025", "ab" * 32, DAY, "A-1", valid_days=30,
                      response_url_template="https://green.example.com/r/{code}")
    no = make_offer_no("A-1", "ab" * 32, DAY)
    assert meta["offer_no"] == no and meta["response_code"] == f"{no}-{check_code(no)}"
    assert verify_response_code(meta["response_code"]) == no
    assert meta["valid_until"] == "2027-01-01" and meta["issue_date"] == "2026-12-02"
    assert meta["response_url"] == f"https://green.example.com/r/{no}-{check_code(no)}"
    # the drawn path is exactly segno's module matrix for that URL (so any reader decodes the URL)
    matrix = [bytes(r) for r in segno.make(meta["response_url"], error="m", micro=False).matrix]
    size = meta["qr"]["size"]
    assert size == len(matrix) + 2 * QUIET_ZONE
    # one-module-wide strokes: "M x y.5h n" paints row y from column x, "M x.5 y v n" column x from row y
    drawn = [[0] * size for _ in range(size)]
    strokes = re.findall(r"M(\d+)(\.5)? (\d+)(\.5)?([hv])(\d+)", meta["qr"]["path"])
    assert "".join("M" + x + hx + " " + y + hy + d + n for x, hx, y, hy, d, n in strokes) == meta["qr"]["path"]
    for x, half_x, y, half_y, direction, n in strokes:
        assert (direction, half_x, half_y) in (("h", "", ".5"), ("v", ".5", ""))
        for i in range(int(n)):
            drawn[int(y) + i * (direction == "v")][int(x) + i * (direction == "h")] = 1
    assert [row[QUIET_ZONE:size - QUIET_ZONE] for row in drawn[QUIET_ZONE:size - QUIET_ZONE]] == \
        [list(r) for r in matrix]


def test_no_template_no_qr_and_kept_numbers_stay():
    meta = offer_meta("run-2", "f" * 64, "cn-2025", "cd" * 32, DAY, "A-1", offer_no="GP-0000-0000-0001",
                      valid_until=dt.date(2026, 12, 20))
    assert meta["qr"] is None and meta["response_url"] is None
    assert meta["offer_no"] == "GP-0000-0000-0001" and meta["valid_until"] == "2026-12-20"


def test_qr_is_made_for_the_url_only():
    q = qr_svg("https://green.example.com/r/GP-0000-0000-0001-XX")
    assert set(q["path"]) <= set("Mhv0123456789 .")     # path data only: nothing from customer text


def test_a_render_job_keeps_its_dates_through_a_json_batch_file():
    # distributed rendering writes jobs as JSON lines (flows/scaleout.py): dates come back as dates
    import dataclasses
    import json

    from offers.render import RenderJob
    job = RenderJob(1, "A-1", "a.pdf", "h" * 64, {"offer": {}, "meta": {}}, "GP-0000-0000-0001", DAY,
                    DAY + dt.timedelta(days=30))
    back = RenderJob(**json.loads(json.dumps(dataclasses.asdict(job), ensure_ascii=False, default=str)))
    assert back == job
