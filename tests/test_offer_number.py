"""Offer numbers and check codes: deterministic, and every single typo or adjacent swap is caught."""
from datetime import date

import pytest

from offers.offer_number import (OfferNumberError, check_code, make_offer_no, parse_response_code,
                                 response_code, response_url, verify_response_code)


def test_offer_number_is_a_fixed_function_of_account_content_and_date():
    # a fixed expected value: the number printed on a PDF must not change between releases
    assert make_offer_no("A-001", "ab" * 32, date(2026, 12, 2)) == make_offer_no("A-001", "ab" * 32, date(2026, 12, 2))
    assert make_offer_no("A-001", "ab" * 32, date(2026, 12, 2)) != make_offer_no("A-002", "ab" * 32, date(2026, 12, 2))
    assert make_offer_no("A-001", "ab" * 32, date(2026, 12, 2)) != make_offer_no("A-001", "ab" * 32, date(2026, 12, 3))
    assert make_offer_no("A-001", "ab" * 32, date(2026, 12, 2)) == "GP-3E8H-2ENS-2ZAR"
    assert check_code("GP-3E8H-2ENS-2ZAR") == check_code("gp3e8h2ens2zar")


def test_check_code_catches_every_single_substitution_and_adjacent_swap():
    no = make_offer_no("acct", "0" * 64, date(2026, 1, 1))
    code = response_code(no)
    assert verify_response_code(code) == no
    compact = list(no.replace("-", "")[2:])
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    caught = 0
    for i, ch in enumerate(compact):
        for other in alphabet:
            if other == ch:
                continue
            typo = compact.copy(); typo[i] = other
            text = "GP" + "".join(typo) + check_code(no)
            with pytest.raises(OfferNumberError):
                verify_response_code(text)
            caught += 1
    for i in range(len(compact) - 1):
        if compact[i] == compact[i + 1]:
            continue
        swapped = compact.copy(); swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        with pytest.raises(OfferNumberError):
            verify_response_code("GP" + "".join(swapped) + check_code(no))
    assert caught == 12 * 31


def test_codes_are_read_the_way_people_type_them():
    no = make_offer_no("acct", "1" * 64, date(2026, 1, 1))
    typed = response_code(no).lower().replace("-", " ")
    assert verify_response_code(typed) == no
    assert parse_response_code(no) == (no, None)
    with pytest.raises(OfferNumberError, match="check code is missing"):
        verify_response_code(no)
    with pytest.raises(OfferNumberError, match="not an offer number"):
        parse_response_code("'; DROP TABLE offers; --")


def test_response_url_carries_only_the_number_and_check():
    no = make_offer_no("<script>", "2" * 64, date(2026, 1, 1))
    url = response_url("https://crm.example/r?o={offer_no}&c={check}", no)
    assert url == f"https://crm.example/r?o={no}&c={check_code(no)}"
    assert response_url(None, no) is None and response_url("", no) is None
