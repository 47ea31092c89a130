"""Forms that guide (every error at once, a summary linking to the fields, the title says
"Lỗi:") and a counter search that finds, through the pages, on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from flask import Flask
from flask_babel import Babel

from core.forms import FormErrors, money_error
from payments.dossiers import near_references, search_dossiers
from payments.models import Dossier, PaymentRequest
from payments.references import ALPHABET
from qr.text import search_key
from tests.payments.test_pages import (LAND_BODY, LAND_FORM, clerk, count, in_db, make_request, post,  # noqa: F401
                                       site, text)


@pytest.fixture(scope="module")
def babel_app():
    app = Flask("forms")
    app.config["BABEL_DEFAULT_LOCALE"] = "vi"
    Babel(app)
    return app


@pytest.mark.parametrize("raw, amount, words", [
    ("1.500.000", 1_500_000, None), ("1500000", 1_500_000, None), ("", None, None),
    ("-5", None, "không được là số âm"), ("abc", None, "không phải là một số"),
    ("2,5 tỷ", None, "không dùng chữ như “tỷ”"), ("300 nghìn", None, "không dùng chữ"),
    ("12,5", None, "không có phần thập phân"), ("99999999999999", None, "quá lớn"),
])
def test_money_error_says_what_is_wrong(babel_app, raw, amount, words):
    with babel_app.app_context():
        value, problem = money_error(raw, what="Số tiền")
    assert value == amount
    assert (problem is None) if words is None else (words in problem)


def test_form_errors_keep_the_first_message_per_field():
    errors = FormErrors()
    assert not errors
    errors.add("a", "first")
    errors.add("a", "second")
    errors.add(None, "general")
    assert errors["a"] == "first" and errors.general == ["general"] and len(errors) == 2 and "a" in errors


def test_search_key():
    assert search_key("  Nguyễn  Văn AN ") == "nguyen van an"
    assert search_key("Đặng Thị Ðào") == "dang thi dao"


def test_every_error_at_once_in_a_summary_linking_to_the_fields(site, clerk):
    form = {**LAND_FORM, "applicant_name": "", "payer_class": "", "declared_value": "2,5 tỷ", "code": "abc/../../x",
            "action": "save"}
    response = post(clerk, "/counter/dossiers/new", form, page="/counter/dossiers/new")
    page = text(response)
    assert response.status_code == 422
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert summary and 'tabindex="-1"' in page and "data-error-summary" in page
    links = re.findall(r'<a href="#([a-z_]+)"', summary.group(1))
    assert links == ["applicant_name", "code", "payer_class", "declared_value"]
    assert re.search(r"<title>Lỗi: ", page)
    assert 'js/forms.js' in page
    # each field says what is wrong with it and keeps what was typed
    assert 'id="err-declared_value"' in page and "không dùng chữ như “tỷ”" in page
    assert 'value="2,5 tỷ"' in page and 'value="abc/../../x"' in page
    assert count(site, Dossier) == 0


def test_a_clean_form_has_no_error_title(site, clerk):
    page = text(clerk.get("/counter/dossiers/new"))
    assert "<title>Lỗi:" not in page and "data-error-summary" not in page
    # no empty "Căn cứ tính phí" box before a procedure is chosen
    assert re.search(r'<fieldset id="fee-facts" data-fee-facts hidden>', page)


def test_english_title_and_summary(site, clerk):
    clerk.get("/lang/en")
    page = text(post(clerk, "/counter/dossiers/new", {**LAND_FORM, "declared_value": "-1", "action": "preview"},
                     page="/counter/dossiers/new"))
    assert re.search(r"<title>Error: ", page) and "There is a problem" in page and "cannot be negative" in page


def test_search_ignores_diacritics_case_and_spacing(site, clerk):
    make_request(site)
    for query in ("nguyen van an", "NGUYEN   VAN  AN", "Nguyễn Văn An", "nguyen an", "van an"):
        found = in_db(site, lambda s: [d.code for d in search_dossiers(s, query)])
        assert found == [LAND_BODY["code"]], query
    assert in_db(site, lambda s: search_dossiers(s, "tran van an")) == []
    page = text(clerk.get("/counter/?q=nguyen+van+an"))
    assert LAND_BODY["code"] in page


@pytest.mark.parametrize("query", ["H26-261125-0001", "000.12.03.H26", "0001203H26261125", "261125-0001"])
def test_search_by_any_part_of_the_code(site, query):
    make_request(site)
    assert in_db(site, lambda s: [d.code for d in search_dossiers(s, query)]) == [LAND_BODY["code"]]


def test_search_by_reference_amount_and_near_references(site, clerk):
    make_request(site)
    reference = in_db(site, lambda s: s.scalar(select(PaymentRequest.reference)))
    amount = in_db(site, lambda s: s.query(Dossier).one().amount_due)
    # the whole reference goes to the dossier, at the request
    whole = clerk.get(f"/counter/?q={reference.lower()}")
    assert whole.status_code == 302 and whole.headers["Location"].endswith(f"#request-{reference}")
    # its beginning finds the dossier
    assert in_db(site, lambda s: [d.code for d in search_dossiers(s, reference[:7])]) == [LAND_BODY["code"]]
    # the amount, typed as people type it
    assert in_db(site, lambda s: [d.code for d in search_dossiers(s, f"{amount:,}".replace(",", "."))]) \
        == [LAND_BODY["code"]]
    # one symbol wrong: offered, never taken
    i = 5
    wrong = reference[:i] + next(c for c in ALPHABET if c != reference[i]) + reference[i + 1:]
    assert [r.reference for r in in_db(site, lambda s: near_references(s, wrong))] == [reference]
    page = text(clerk.get(f"/counter/?q={wrong}"))
    assert 'data-testid="near-references"' in page and reference in page
    # two neighbours swapped
    j = next(k for k in range(2, 9) if reference[k] != reference[k + 1])
    swapped = reference[:j] + reference[j + 1] + reference[j] + reference[j + 2:]
    assert [r.reference for r in in_db(site, lambda s: near_references(s, swapped))] == [reference]


def test_zero_fee_dossier_says_no_fee_due(site, clerk):
    body = {**LAND_BODY, "code": "000.12.03.H26-261125-0077", "charges": [{"name": "Miễn", "amount": 0}]}
    in_db(site, lambda s: (__import__("payments.dossiers", fromlist=["x"]).register_dossier(
        s, __import__("payments.dossiers", fromlist=["x"]).parse_dossier_input(body), "test"), s.commit()))
    page = text(clerk.get(f"/counter/dossiers/{body['code']}"))
    assert "Không phải nộp phí" in page and "Đã nộp đủ" not in page


def test_print_then_reprint(site, clerk):
    make_request(site, amount=None)
    reference = in_db(site, lambda s: s.scalar(select(PaymentRequest.reference)))
    url = f"/counter/dossiers/{LAND_BODY['code']}"
    assert "In lại phiếu 80 mm" not in text(clerk.get(url))
    assert clerk.get(f"/counter/payment-requests/{reference}/print?layout=receipt80").status_code == 200
    assert in_db(site, lambda s: s.query(PaymentRequest).one().printed_at) is not None
    assert "In lại phiếu 80 mm" in text(clerk.get(url))
