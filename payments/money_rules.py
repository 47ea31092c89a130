"""The rules of money, each written once: pure functions on plain values.

Both writers of payments use them: ``reconciliation.matching.allocation`` (one payment at a time
through the ORM: manual matches, cash, the portal, reversals) and ``reconciliation.matching.bulk`` (many
at a time, set-based: the callbacks' fast path, statement imports and runs). What a dossier's
or a request's state is after its sums change, how a payment counts for the 766 indicator,
a transaction's state, which receipts a paid dossier gets, which outbound event a change
sends, the dossier's part of an event, and which requests a paid dossier cancels: nothing of
that is decided anywhere else (``tests/payments/test_money_rules.py`` and the property test
``tests/reconciliation/test_money_properties.py``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Protocol

PAID = ("paid", "overpaid")
STALE_REASON = "hồ sơ đã được thanh toán đủ (dossier paid in full)"
RECEIPT_KINDS = ("le_phi", "phi")


def dossier_status(amount_due: int, amount_paid: int) -> str:
    """``unpaid``, ``partially_paid``, ``paid`` or ``overpaid`` (nothing due counts as paid)."""
    if amount_paid <= 0:
        return "paid" if amount_due == 0 else "unpaid"
    if amount_paid < amount_due:
        return "partially_paid"
    return "paid" if amount_paid == amount_due else "overpaid"


def request_status(current: str, amount: int, amount_paid: int, expires_at: datetime, now: datetime) -> str:
    """A request's state after its amount paid changed (cancelled stays cancelled; a request
    nothing is paid on is open until it expires)."""
    if current == "cancelled":
        return "cancelled"
    if amount_paid <= 0:
        return "expired" if expires_at <= now else "open"
    if amount_paid < amount:
        return "partially_paid"
    return "paid" if amount_paid == amount else "overpaid"


def transaction_status(direction: str, amount: int, allocated: int, current: str | None = None) -> str:
    """``matched``, ``partially_matched``, ``unmatched``, or ``ignored`` (money out, or a credit
    set aside that nothing is allocated from)."""
    if direction != "in":
        return "ignored"
    if allocated <= 0:
        return "ignored" if current == "ignored" else "unmatched"
    return "matched" if allocated >= amount else "partially_matched"


def payment_channel(transfer_channels: Iterable[str], dossier_channel: str, *, cash: bool = False,
                    portal: bool = False) -> str:
    """How the citizen paid (the 766 indicator's question, DOMAIN.md): cash; on the national
    portal's platform; through this service as the city's gateway (a VietQR transfer for a
    dossier filed online); or a VietQR transfer at the counter."""
    if cash:
        return "cash"
    if portal or "portal" in set(transfer_channels):
        return "portal"
    return "gateway" if dossier_channel == "online" else "counter_transfer"


def receipt_channel(payment_channels: Iterable[str]) -> str:
    """What a receipt says the dossier was paid through: the one channel, or ``mixed``."""
    used = set(payment_channels)
    return used.pop() if len(used) == 1 else "mixed"


def became_paid(before: str, after: str) -> bool:
    return after in PAID and before not in PAID


def became_unpaid(before: str, after: str) -> bool:
    return before in PAID and after not in PAID


PART_PAYMENT_SETTLED = "the request was paid in full by a later payment"


def settles_part_payment(request_status_after: str) -> bool:
    """A request paid in full settles the ``amount_mismatch`` item its earlier part payment opened."""
    return request_status_after in PAID


def event_for_change(request_status_after: str | None, dossier_status_after: str, *,
                     reversal: bool = False) -> str | None:
    """The outbound event a change of what a dossier has paid sends (None: none)."""
    if reversal:
        return "dossier.payment_reversed"
    if request_status_after in ("paid", "partially_paid", "overpaid"):
        return f"payment_request.{request_status_after}"
    if dossier_status_after in ("paid", "partially_paid", "overpaid"):
        return f"dossier.{dossier_status_after}"
    return None


def requests_to_cancel(requests: Iterable[tuple[int, str]], keep: Iterable[int]) -> list[int]:
    """Once a dossier is paid, its other open requests would only invite a second payment."""
    kept = keep if isinstance(keep, (set, frozenset)) else set(keep)  # a batch passes one set for thousands
    return [request_id for request_id, status in requests if status == "open" and request_id not in kept]


class ChargeLike(Protocol):
    name: str
    amount: int
    kind: str | None
    legal_basis: str | None
    fee_code: str | None


def receipt_lines(charges: Iterable[ChargeLike], kind: str) -> list[dict[str, Any]]:
    """The lines of the receipt of one kind: every charge of that kind above 0 đồng."""
    return [{"name": c.name, "amount": c.amount, "legal_basis": c.legal_basis, "fee_code": c.fee_code}
            for c in charges if (c.kind or "le_phi") == kind and c.amount > 0]


def receipted_elsewhere(payment_channel: str, paper_receipt: bool = False) -> bool:
    """Whether a payment already has its receipt from another issuer (DOMAIN.md, "Receipts"):
    the national platform receipts what is paid on it, and cash taken against a paper receipt
    is receipted by that paper. Such money gets no second, electronic receipt."""
    return payment_channel == "portal" or (payment_channel == "cash" and paper_receipt)


def receipted_only_elsewhere(elsewhere: Iterable[bool]) -> bool:
    """Every payment in force (there is at least one) is ``receipted_elsewhere``: the dossier
    gets no e-receipt, and its money is counted from the other issuer's documents (money
    collected and the fee returns, docs/REPORTS.md and docs/TREASURY.md). A dossier paid partly
    so and partly by transfer gets e-receipts for the whole, as before: never both."""
    covered = list(elsewhere)
    return bool(covered) and all(covered)


def receipts_to_issue(charges: Iterable[ChargeLike], issued_kinds: Iterable[str],
                      elsewhere: Iterable[bool] = ()) -> list[tuple[str, list[dict]]]:
    """A paid dossier's receipts still to issue: one per kind (``phí`` and ``lệ phí`` go to
    different treasury accounts) with something to pay and no receipt in force.

    ``elsewhere`` says, for each payment in force, whether it is ``receipted_elsewhere``: a
    dossier paid only by such payments gets no e-receipt (one receipt per payment). A writer
    that passes nothing pays with money no one has receipted (bank transfers)."""
    if receipted_only_elsewhere(elsewhere):
        return []
    charges = list(charges)
    issued = set(issued_kinds)
    wanted = []
    for kind in RECEIPT_KINDS:
        lines = receipt_lines(charges, kind)
        if lines and kind not in issued:
            wanted.append((kind, lines))
    return wanted


# --- the portal's online-payment flag (DuocThanhToanTrucTuyen) ------------------------------------
# 0: not paid online; 1: paid on the national portal's payment platform; 2: paid through the
# ministry's or province's payment gateway (DOMAIN.md, "The indicator as the portal computes it").
FLAG_NONE, FLAG_PORTAL, FLAG_GATEWAY = 0, 1, 2
ONLINE_FLAGS = (FLAG_PORTAL, FLAG_GATEWAY)


def paid_in_full(amount_due: int, amount_paid: int) -> bool:
    """Something was due and what is paid (net of reversals and paid refunds) covers it."""
    return amount_due > 0 and amount_paid >= amount_due


def online_flag(payment_channels: Iterable[str], *, paid: bool, vietqr_as_gateway: bool = False) -> int:
    """THE online-payment flag of a dossier (``DuocThanhToanTrucTuyen``), 0, 1 or 2: what the
    outbound events send and what item 3.6 of the reports counts, from the same call.

    ``payment_channels``: the ``payment_channel`` of each of its payments not reversed;
    ``paid``: it is paid in full (:func:`paid_in_full`). A dossier is paid online when it is
    paid in full and every payment came online: 1 when any came through the national portal's
    platform, else 2. A VietQR transfer for a dossier filed online (``gateway``) is online
    only when the city decides so (setting ``ONLINE_FLAG_VIETQR_AS_GATEWAY``, off by default);
    a VietQR transfer at the counter, a card and cash never are.
    """
    used = set(payment_channels)
    online = {"portal", "gateway"} if vietqr_as_gateway else {"portal"}
    if not paid or not used or not used <= online:
        return FLAG_NONE
    return FLAG_PORTAL if "portal" in used else FLAG_GATEWAY


# How each fee was collected (``HinhThucThu``) and its kind (``LoaiPhiLePhi``), as the portal's
# fee list codes them: defaults of ``PORTAL_FEE_CODES`` (core/config.py), which an operator can
# correct (the codes are not confirmed from a published text).
DEFAULT_PORTAL_FEE_CODES: dict[str, dict[str, int]] = {
    "kind": {"phi": 1, "le_phi": 2},
    "collection": {"cash": 1, "transfer": 2, "online": 3},
}


def collection_form(payment_channels: Iterable[str], flag: int) -> str | None:
    """How a dossier's fees were collected: ``online`` (the flag is 1 or 2), ``cash`` (cash
    only), ``transfer`` (any other payment), None when nothing is paid."""
    used = set(payment_channels)
    if not used:
        return None
    if flag in ONLINE_FLAGS:
        return "online"
    return "cash" if used == {"cash"} else "transfer"


def portal_fee_list(fees: list[dict[str, Any]], collection: str | None,
                    codes: dict[str, dict[str, int]] | None = None) -> list[dict[str, Any]]:
    """The fee list as the portal's ``DanhSachLePhi`` carries it, beside the service's own
    fields: ``MaPhiLePhi``, ``TenPhiLePhi``, ``HinhThucThu``, ``Gia``, ``LoaiPhiLePhi``."""
    codes = codes or DEFAULT_PORTAL_FEE_CODES
    out = []
    for fee in fees:
        kind = fee.get("kind") or "le_phi"
        out.append({**fee, "MaPhiLePhi": fee.get("fee_code"), "TenPhiLePhi": fee.get("name"),
                    "HinhThucThu": codes["collection"].get(collection) if collection else None,
                    "Gia": fee.get("amount"), "LoaiPhiLePhi": codes["kind"].get(kind)})
    return out


def dossier_event_part(*, code: str, portal_code: str | None, procedure_code: str, agency_code: str, channel: str,
                       amount_due: int, amount_paid: int, fees: list[dict[str, Any]],
                       payment_channels: Iterable[str], vietqr_as_gateway: bool = False,
                       fee_codes: dict[str, dict[str, int]] | None = None) -> dict[str, Any]:
    """The ``dossier`` object of every outbound event; ``online_payment`` (and its portal name
    ``DuocThanhToanTrucTuyen``) is :func:`online_flag`."""
    used = list(payment_channels)
    flag = online_flag(used, paid=paid_in_full(amount_due, amount_paid), vietqr_as_gateway=vietqr_as_gateway)
    return {"code": code, "portal_code": portal_code, "procedure_code": procedure_code, "agency_code": agency_code,
            "channel": channel, "amount_due": amount_due, "amount_paid": amount_paid,
            "payment_status": dossier_status(amount_due, amount_paid),
            "fees": portal_fee_list(fees, collection_form(used, flag), fee_codes),
            "payment_channels": sorted(set(used)), "online_payment": flag, "DuocThanhToanTrucTuyen": flag,
            "online_flag_vietqr_as_gateway": vietqr_as_gateway}
