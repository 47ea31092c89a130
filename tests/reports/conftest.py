"""A small crafted month for the reports' tests: November 2026 in three units, every edge case
of the indicators, built through the service's own functions (dossier registration, the
allocation of bank transfers and cash, refunds with four eyes, reversals), and the hand-
computed figures it must give (``EXPECTED``).

The catalogue is the test's own (five procedures with fees, one without), so the expected
counts of items 3.5 and 3.5b do not depend on the city's catalogue file.
"""
from __future__ import annotations

from tests.dossiers import register_named

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from core.clock import ict_day
from payments.agencies import default_account, seed_agencies
from payments.models import Dossier, FeeItem, PaymentRequest, Procedure
from reconciliation.matching.allocation import allocate, reverse
from reconciliation.matching.cash import record_cash
from reconciliation.models import Allocation, BankTransaction
from reconciliation.workflow.refunds import decide, mark_paid, request_refund
from reports.definitions import Period

ICT = timezone(timedelta(hours=7))
NOVEMBER = Period.month(2026, 11)
_refs = itertools.count(1)

# code, field, name, fee (None: no fee, always exempt), kind
CATALOGUE = [
    ("T.KH-NN", "civil_status", "Đăng ký kết hôn có yếu tố nước ngoài", 1_000_000, "le_phi"),
    ("T.TLHT", "civil_status", "Cấp bản sao trích lục hộ tịch", 8_000, "phi"),
    ("T.KS", "civil_status", "Đăng ký khai sinh đúng hạn", None, "le_phi"),
    ("T.BD", "land", "Đăng ký biến động đất đai", 28_000, "le_phi"),
    ("T.CAPDOI", "land", "Cấp đổi Giấy chứng nhận", 20_000, "le_phi"),
    ("T.UNUSED", "land", "Thủ tục có phí không có hồ sơ", 50_000, "le_phi"),
]


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ICT)


def seed_catalogue(session) -> None:
    for position, (code, field, name, fee, kind) in enumerate(CATALOGUE):
        procedure = Procedure(code=code, national_code=None, name=name, name_en=None, field=field, active=True)
        procedure.fee_items = [FeeItem(position=0, code=code.split(".")[1], name=f"Lệ phí {name.lower()}", kind=kind,
                                       payer_class="any", amount=fee or 0, exempt_always=fee is None,
                                       legal_basis="thử nghiệm", verified=True)]
        session.add(procedure)
    session.flush()


@pytest.fixture
def base(session):
    seed_agencies(session, lambda _: None)
    seed_catalogue(session)
    session.commit()
    return session


def dossier(session, code: str, agency: str, procedure: str, channel: str, submitted: datetime,
            charges: list[tuple[int, str]] | None, status: str | None = None) -> Dossier:
    body = {"code": code, "procedure_code": procedure, "agency_code": agency, "applicant_name": "Nguyễn Văn A",
            "channel": channel, "submitted_at": submitted.isoformat(),
            "charges": [{"name": f"Khoản {i}", "amount": amount, "kind": kind, "fee_code": procedure.split(".")[1]}
                        for i, (amount, kind) in enumerate(charges or [])]}
    made = register_named(session, body)
    if status:
        made.status = status
    session.flush()
    return made


def transfer(session, d: Dossier, amount: int, when: datetime, *, portal: bool = False) -> Allocation:
    """A bank credit of ``amount`` booked at ``when``, allocated to ``d`` (the channel follows
    the service's rule: portal, else gateway for an online dossier, counter transfer otherwise)."""
    account = default_account(d.agency)
    t = BankTransaction(bank_bin=account.bank_bin, account_number=account.number, bank_ref=f"FT{next(_refs):010d}",
                        account_id=account.id, direction="in", amount=amount, booked_at=when,
                        booked_on=ict_day(when), first_channel="portal" if portal else "sepay",
                        channels="portal" if portal else "sepay", content=d.code)
    session.add(t)
    session.flush()
    return allocate(session, dossier_id=d.id, amount=amount, actor="test", rule="test", transaction=t, portal=portal)


def card(session, d: Dossier, amount: int, when: datetime) -> Allocation:
    """A card payment (the POS settles to the account): recorded as the service records any allocation."""
    account = default_account(d.agency)
    t = BankTransaction(bank_bin=account.bank_bin, account_number=account.number, bank_ref=f"POS{next(_refs):09d}",
                        account_id=account.id, direction="in", amount=amount, booked_at=when,
                        booked_on=ict_day(when), first_channel="statement", channels="statement", content="POS",
                        allocated=amount, status="matched")
    session.add(t)
    session.flush()
    allocation = Allocation(transaction_id=t.id, dossier_id=d.id, amount=amount, payment_channel="card",
                            rule="test", created_at=when, created_by="test")
    session.add(allocation)
    d.amount_paid += amount
    session.flush()
    return allocation


def cash(session, d: Dossier, amount: int, when: datetime):
    payment = record_cash(session, d, amount=amount, receipt_number=f"PT{next(_refs):06d}", clerk_username="motcua",
                          clerk_name="Cán bộ một cửa")
    payment.received_at = when
    payment.received_on = ict_day(when)
    session.flush()
    return payment


def request_at(session, d: Dossier, when: datetime) -> PaymentRequest:
    from payments.requests import create_payment_request

    made = create_payment_request(session, d, "test")
    made.created_at = when
    session.flush()
    return made


def refund_excess(session, d: Dossier, amount: int) -> None:
    from core.users import find_user
    from tests.staff import add_staff

    if find_user(session, "ketoan2") is None:  # refunds are decided by a finance officer
        add_staff(session, {"ketoan2": "finance"}, "not-used-here")
    refund = request_refund(session, amount=amount, reason="nộp trùng", beneficiary_bank="970436",
                            beneficiary_account="0011001234567", beneficiary_name="Nguyen Van A", actor="user:ketoan1",
                            dossier_id=d.id)
    decide(session, refund, "user:ketoan2", approve=True)
    mark_paid(session, refund, "user:ketoan1", "FT-REFUND-1")


def build_november(session) -> dict[str, Dossier]:
    """The crafted month. HK = P-HOANKIEM (ward), DD = P-DONGDA (ward), CN2 = land branch."""
    HK, DD, CN2 = "P-HOANKIEM", "P-DONGDA", "HN-VPDKDD-CN02"
    million = [(1_000_000, "le_phi")]
    d: dict[str, Dossier] = {}
    # HK: online, paid through the gateway 25 minutes after its payment request
    d["A1"] = dossier(session, "HK-A1", HK, "T.KH-NN", "online", at(3, 9), million)
    request_at(session, d["A1"], at(3, 9, 5))
    transfer(session, d["A1"], 1_000_000, at(3, 9, 30))
    # counter dossier paid by a VietQR transfer at the counter: cashless, not online (2 h after the request)
    d["A2"] = dossier(session, "HK-A2", HK, "T.KH-NN", "counter", at(5, 10), million)
    request_at(session, d["A2"], at(5, 10, 5))
    transfer(session, d["A2"], 1_000_000, at(5, 12, 5))
    # cash
    d["A3"] = dossier(session, "HK-A3", HK, "T.TLHT", "counter", at(6, 9), [(8_000, "phi"), (8_000, "phi")])
    cash(session, d["A3"], 16_000, at(6, 9, 20))
    # online under the 2026 rule: a charge line of 0 đ (procedure with fees, fees all 0)
    d["A4"] = dossier(session, "HK-A4", HK, "T.TLHT", "online", at(7, 9), [(0, "phi")])
    # a free procedure (exempt by law)
    d["A5"] = dossier(session, "HK-A5", HK, "T.KS", "counter", at(8, 9), [(0, "le_phi")])
    # paid online, then withdrawn: cancelled, counted nowhere
    d["A6"] = dossier(session, "HK-A6", HK, "T.KH-NN", "online", at(10, 9), million)
    transfer(session, d["A6"], 1_000_000, at(10, 9, 30))
    d["A6"].status = "withdrawn"
    # started on the last evening of November (Indochina time), paid in December: November's
    d["A7"] = dossier(session, "HK-A7", HK, "T.KH-NN", "online", at(30, 23, 30), million)
    transfer(session, d["A7"], 1_000_000, at(2, 10, month=12))
    # 1 December 00:10 in Hanoi is still 30 November in UTC: December's
    d["A8"] = dossier(session, "HK-A8", HK, "T.KH-NN", "online", at(1, 0, 10, month=12), million)
    transfer(session, d["A8"], 1_000_000, at(1, 8, month=12))
    # started in October, paid in November: October's
    d["A9"] = dossier(session, "HK-A9", HK, "T.KH-NN", "online", at(31, 23, 50, month=10), million)
    transfer(session, d["A9"], 1_000_000, at(2, 8))
    # DD: paid twice through the gateway, the excess refunded: still paid online
    d["B1"] = dossier(session, "DD-B1", DD, "T.TLHT", "online", at(12, 9), [(8_000, "phi")] * 3)
    transfer(session, d["B1"], 24_000, at(12, 9, 10))
    transfer(session, d["B1"], 24_000, at(12, 9, 12))
    refund_excess(session, d["B1"], 24_000)
    # paid, then the allocation reversed (unmatched): not paid
    d["B2"] = dossier(session, "DD-B2", DD, "T.KH-NN", "online", at(13, 9), million)
    wrong = transfer(session, d["B2"], 1_000_000, at(13, 9, 30))
    reverse(session, wrong, "user:ketoan1", "ghép nhầm hồ sơ")
    # half by transfer at the counter, half in cash: paid, neither online nor cashless
    d["B3"] = dossier(session, "DD-B3", DD, "T.KH-NN", "counter", at(14, 9), million)
    transfer(session, d["B3"], 500_000, at(14, 9, 30))
    cash(session, d["B3"], 500_000, at(14, 9, 40))
    # submitted, not yet accepted: processing has not started
    d["B4"] = dossier(session, "DD-B4", DD, "T.KH-NN", "online", at(15, 9), million, status="submitted")
    transfer(session, d["B4"], 1_000_000, at(15, 9, 30))
    # a card: cashless, not online by default
    d["B5"] = dossier(session, "DD-B5", DD, "T.TLHT", "online", at(16, 9), [(8_000, "phi")])
    card(session, d["B5"], 8_000, at(16, 9, 5))
    # a part paid on the portal: not paid, but an online payment of its procedure (3.5b)
    d["B6"] = dossier(session, "DD-B6", DD, "T.KH-NN", "online", at(17, 9), million)
    transfer(session, d["B6"], 400_000, at(17, 9, 30), portal=True)
    # CN2 (land): two charges (lệ phí and phí) paid on the portal one day after the request
    d["C1"] = dossier(session, "CN2-C1", CN2, "T.BD", "counter", at(18, 8), [(28_000, "le_phi"), (3_000_000, "phi")])
    request_at(session, d["C1"], at(18, 8))
    transfer(session, d["C1"], 3_028_000, at(19, 8), portal=True)
    # an exempt payer: fees all 0
    d["C2"] = dossier(session, "CN2-C2", CN2, "T.BD", "counter", at(19, 9), [(0, "le_phi")])
    # unpaid
    d["C3"] = dossier(session, "CN2-C3", CN2, "T.BD", "counter", at(20, 9), [(28_000, "le_phi")])
    # no fee data at all (no charge line)
    d["C4"] = dossier(session, "CN2-C4", CN2, "T.CAPDOI", "counter", at(21, 9), [])
    # rejected
    d["C5"] = dossier(session, "CN2-C5", CN2, "T.BD", "online", at(22, 9), [(28_000, "le_phi")], status="rejected")
    # a counter dossier paid on the portal: online
    d["C6"] = dossier(session, "CN2-C6", CN2, "T.CAPDOI", "counter", at(23, 9), [(20_000, "le_phi")])
    transfer(session, d["C6"], 20_000, at(23, 10), portal=True)
    session.commit()
    return d


@pytest.fixture
def november(base):
    return build_november(base)


# The figures of November, computed by hand from the list above (docs/REPORTS.md has the rules),
# with ONLINE_FLAG_VIETQR_AS_GATEWAY off (the default): only the portal's platform sets the
# online-payment flag (1); a VietQR transfer, even for an online dossier, does not.
# 3.6 keeps every status (A6 withdrawn, C5 rejected, B4 submitted are in); a dossier without any
# charge line (C4) stays in its denominator; the all-zero ones (A4, C2) are subtracted.
# (dossiers, with_fees, zero_fee, paid_online, cashless)
EXPECTED_AGENCY = {
    "P-HOANKIEM": (7, 5, 1, 0, 3),  # A1..A7; fees: A1 A2 A3 A6 A7; zero: A4; no flag; cashless A1 A2 A7 (of 4 to pay)
    "P-DONGDA": (6, 6, 0, 0, 2),  # B1..B6; no flag (B6 is a part on the portal); cashless: B1 B5 (of 5 to pay)
    "HN-VPDKDD-CN02": (6, 5, 1, 2, 2),  # C1..C6; fees: C1 C3 C4 C5 C6; zero: C2; flag 1: C1 C6
}
EXPECTED_FIELD = {"civil_status": (13, 11, 1, 0, 5), "land": (6, 5, 1, 2, 2)}
EXPECTED_PROCEDURE = {
    "T.KH-NN": (8, 8, 0, 0, 3),  # A1 A2 A6 A7 B2 B3 B4 B6
    "T.TLHT": (4, 3, 1, 0, 2),  # A3 A4 B1 B5
    "T.KS": (1, 0, 0, 0, 0),  # A5 (a procedure without fees: not subtracted, not counted)
    "T.BD": (4, 3, 1, 1, 1),  # C1 C2 C3 C5
    "T.CAPDOI": (2, 2, 0, 1, 1),  # C4 C6
}
EXPECTED_CHANNEL = {"online": (10, 9, 1, 0, 4), "counter": (9, 7, 1, 2, 3)}
EXPECTED_TOTAL = (19, 16, 2, 2, 7)
ALL_NOVEMBER = {"HK-A1", "HK-A2", "HK-A3", "HK-A4", "HK-A5", "HK-A6", "HK-A7", "DD-B1", "DD-B2", "DD-B3", "DD-B4",
                "DD-B5", "DD-B6", "CN2-C1", "CN2-C2", "CN2-C3", "CN2-C4", "CN2-C5", "CN2-C6"}
EXPECTED_DRILL = {
    "dossiers": ALL_NOVEMBER,
    "fee_procedure_dossiers": ALL_NOVEMBER - {"HK-A5"},
    "with_fees": ALL_NOVEMBER - {"HK-A4", "HK-A5", "CN2-C2"},
    "zero_fee": {"HK-A4", "CN2-C2"},
    "no_fee_procedure": {"HK-A5"},
    "paid_online": {"CN2-C1", "CN2-C6"},
    "flag_portal": {"CN2-C1", "CN2-C6"},
    "flag_gateway": set(),
    "not_paid_online": ALL_NOVEMBER - {"HK-A4", "HK-A5", "CN2-C2", "CN2-C1", "CN2-C6"},
    "paid_online_outside": set(),
    "to_pay": {"HK-A1", "HK-A2", "HK-A3", "HK-A7", "DD-B1", "DD-B2", "DD-B3", "DD-B5", "DD-B6", "CN2-C1", "CN2-C3",
               "CN2-C6"},
    "paid": {"HK-A1", "HK-A2", "HK-A3", "HK-A7", "DD-B1", "DD-B3", "DD-B5", "CN2-C1", "CN2-C6"},
    "unpaid": {"DD-B2", "DD-B6", "CN2-C3"},
    "cashless": {"HK-A1", "HK-A2", "HK-A7", "DD-B1", "DD-B5", "CN2-C1", "CN2-C6"},
    "not_cashless": {"HK-A3", "DD-B2", "DD-B3", "DD-B6", "CN2-C3"},
    "cancelled": {"HK-A6", "CN2-C5"},
    "not_started": {"DD-B4"},
    "no_fee_data": {"CN2-C4"},
}
