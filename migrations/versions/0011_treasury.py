"""treasury: budget codes and retention on fee items, remittances to the State Treasury, and
land financial obligations (tax notices) kept apart from the office's charges

- ``fee_items``: ``budget_chapter`` (mã chương), ``budget_subitem`` (tiểu mục),
  ``retention_bp`` (the share of a ``phí`` the collecting unit keeps, in hundredths of a
  per cent: 9000 = 90 %) and ``treasury_verified`` (whether those values were confirmed);
- ``treasury_remittances``: money handed to the State Treasury for an agency's month;
- ``tax_obligations``: the tax notices a land dossier depends on (registration fee, land-use
  levy, personal income tax) and the proof they were paid.

Existing data (docs/TREASURY.md, "Migrating old dossiers"): a charge of such a kind
(``payments.obligations.obligation_kind``, frozen here) becomes an obligation.

- A dossier that received no money: the charge is removed, ``amount_due`` goes down by it, its
  open payment requests (which asked for the old total) are cancelled, and the obligation keeps
  the charge as it was (``source_charge``) so a downgrade can put it back.
- A dossier that received money: nothing about money changes. The charge stays (the receipts
  and allocations that name it stay true), the obligation points to it (``legacy_charge_id``)
  and shows it as paid through the service once the dossier is paid in full. The fee return
  counts such receipt lines apart, never as the office's fees.
- The catalogue's fee items of such a kind are removed; a procedure left without items (the
  registration fee's own entry ``HN.LPTB``) is made inactive.

Downgrade puts removed charges back (and the amount due), re-activates procedures without
items, and drops the new tables and columns; the removed catalogue rows come back with
``flask seed`` of the older version. Cancelled payment requests stay cancelled.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:00:00
"""
from __future__ import annotations

import json
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

KINDS = ("registration_fee", "land_use_levy", "personal_income_tax")
_PATTERNS = (("registration_fee", re.compile(r"\btruoc ba\b")),
             ("land_use_levy", re.compile(r"\btien su dung dat\b")),
             ("personal_income_tax", re.compile(r"\bthue thu nhap ca nhan\b|\btncn\b")))
_CODES = {"LPTB": "registration_fee"}


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFD", text or "").replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in text if unicodedata.category(c) != "Mn").lower()


def _kind(fee_code: str | None, name: str | None) -> str | None:
    """``payments.obligations.obligation_kind`` as it was when this migration was written."""
    if fee_code and fee_code.upper() in _CODES:
        return _CODES[fee_code.upper()]
    plain = _plain(name or "")
    for kind, pattern in _PATTERNS:
        if pattern.search(plain):
            return kind
    return None


def upgrade() -> None:
    op.add_column('fee_items', sa.Column('budget_chapter', sa.String(length=3), nullable=True))
    op.add_column('fee_items', sa.Column('budget_subitem', sa.String(length=4), nullable=True))
    op.add_column('fee_items', sa.Column('retention_bp', sa.Integer(), nullable=True))
    op.add_column('fee_items', sa.Column('treasury_verified', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    op.create_table('treasury_remittances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('remitted_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('document_number', sa.String(length=60), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_treasury_remittances_amount')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_treasury_remittances_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treasury_remittances')),
    sa.UniqueConstraint('agency_id', 'document_number', name=op.f('uq_treasury_remittances_agency_id')),
    )
    op.create_index('ix_treasury_remittances_agency_month', 'treasury_remittances', ['agency_id', 'month'])
    op.create_table('tax_obligations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('notice_number', sa.String(length=60), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('issuing_authority', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('proof_kind', sa.String(length=20), nullable=True),
    sa.Column('proof_number', sa.String(length=80), nullable=True),
    sa.Column('proof_date', sa.Date(), nullable=True),
    sa.Column('proof_recorded_by', sa.String(length=100), nullable=True),
    sa.Column('proof_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('legacy_charge_id', sa.Integer(), nullable=True),
    sa.Column('source_charge', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_tax_obligations_amount')),
    sa.CheckConstraint("kind IN ('registration_fee', 'land_use_levy', 'personal_income_tax')",
                       name=op.f('ck_tax_obligations_kind')),
    sa.CheckConstraint("proof_kind IS NULL OR proof_kind IN ('treasury_slip', 'portal')",
                       name=op.f('ck_tax_obligations_proof_kind')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_tax_obligations_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_obligations')),
    )
    op.create_index('ix_tax_obligations_dossier_id', 'tax_obligations', ['dossier_id'])
    _charges_to_obligations()
    _catalogue_without_obligations()
    _reports_without_obligations()


def _charges_to_obligations() -> None:
    bind = op.get_bind()
    charges = bind.execute(sa.text(
        "SELECT c.id, c.dossier_id, c.fee_code, c.name, c.kind, c.amount, c.legal_basis, c.detail, "
        "d.amount_paid, d.amount_due FROM dossier_charges c JOIN dossiers d ON d.id = c.dossier_id "
        "ORDER BY c.id")).all()
    now = sa.func.now() if bind.dialect.name == "postgresql" else sa.text("CURRENT_TIMESTAMP")
    obligations = sa.table('tax_obligations', *(sa.column(n) for n in (
        'dossier_id', 'kind', 'amount', 'created_at', 'created_by', 'legacy_charge_id', 'note')),
        sa.column('source_charge', sa.JSON()))
    touched: set[int] = set()
    for c in charges:
        kind = _kind(c.fee_code, c.name)
        if kind is None:
            continue
        if (c.amount_paid or 0) > 0:
            bind.execute(obligations.insert().values(
                dossier_id=c.dossier_id, kind=kind, amount=c.amount, created_at=now, created_by="migration:0011",
                legacy_charge_id=c.id, source_charge=None,
                note="Khoản này đã được tính vào phí của hồ sơ trước khi tách nghĩa vụ tài chính; tiền nhận qua dịch vụ "
                     "được giữ nguyên."))
            continue
        source = {"fee_code": c.fee_code, "name": c.name, "kind": c.kind, "amount": int(c.amount),
                  "legal_basis": c.legal_basis, "detail": c.detail}
        bind.execute(obligations.insert().values(
            dossier_id=c.dossier_id, kind=kind, amount=c.amount, created_at=now, created_by="migration:0011",
            legacy_charge_id=None, source_charge=source,
            note="Chuyển từ khoản phí của hồ sơ: nghĩa vụ tài chính do cơ quan thuế thông báo, nộp vào ngân sách."))
        bind.execute(sa.text("DELETE FROM dossier_charges WHERE id = :i"), {"i": c.id})
        bind.execute(sa.text("UPDATE dossiers SET amount_due = amount_due - :a WHERE id = :d"),
                     {"a": c.amount, "d": c.dossier_id})
        touched.add(c.dossier_id)
    for dossier_id in sorted(touched):
        requests = bind.execute(sa.text("SELECT id FROM payment_requests WHERE dossier_id = :d AND status = 'open'"),
                                {"d": dossier_id}).scalars().all()
        for request_id in requests:
            reason = ("Số tiền cũ gồm nghĩa vụ tài chính (thuế, lệ phí trước bạ), nay nộp riêng vào ngân sách "
                      "theo thông báo thuế")
            bind.execute(sa.text("UPDATE payment_requests SET status = 'cancelled', cancel_reason = :r, "
                                 "version = version + 1 WHERE id = :i"), {"r": reason, "i": request_id})
            bind.execute(sa.text("INSERT INTO payment_request_events (request_id, at, actor, action, from_status, "
                                 "to_status, note) VALUES (:i, CURRENT_TIMESTAMP, 'migration:0011', 'cancelled', "
                                 "'open', 'cancelled', :r)"), {"i": request_id, "r": reason})


def _catalogue_without_obligations() -> None:
    bind = op.get_bind()
    items = bind.execute(sa.text("SELECT id, procedure_id, code, name FROM fee_items")).all()
    emptied = set()
    for item in items:
        if _kind(item.code, item.name) is not None:
            bind.execute(sa.text("DELETE FROM fee_items WHERE id = :i"), {"i": item.id})
            emptied.add(item.procedure_id)
    for procedure_id in emptied:
        left = bind.execute(sa.text("SELECT COUNT(*) FROM fee_items WHERE procedure_id = :p"),
                            {"p": procedure_id}).scalar()
        if not left:
            bind.execute(sa.text("UPDATE procedures SET active = :f WHERE id = :p"), {"f": False, "p": procedure_id})


def _reports_without_obligations() -> None:
    """The reports' receipt lines never count an obligation as a fee collected (``flask report
    rebuild`` after a downgrade puts them back)."""
    bind = op.get_bind()
    for receipt_id, line_no, fee_code, name in bind.execute(sa.text(
            "SELECT receipt_id, line_no, fee_code, name FROM report_receipt_lines")).all():
        if _kind(fee_code, name) is not None:
            bind.execute(sa.text("DELETE FROM report_receipt_lines WHERE receipt_id = :r AND line_no = :l"),
                         {"r": receipt_id, "l": line_no})


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT dossier_id, source_charge FROM tax_obligations "
                                "WHERE source_charge IS NOT NULL ORDER BY id")).all()
    charges = sa.table('dossier_charges', *(sa.column(n) for n in (
        'dossier_id', 'fee_code', 'name', 'kind', 'amount', 'legal_basis', 'detail')))
    for dossier_id, source in rows:
        if isinstance(source, str):
            source = json.loads(source)
        if not source:  # a JSON null: an obligation whose charge stayed (legacy_charge_id)
            continue
        bind.execute(charges.insert().values(dossier_id=dossier_id, fee_code=source.get("fee_code"),
                                             name=source["name"], kind=source.get("kind"), amount=source["amount"],
                                             legal_basis=source.get("legal_basis") or "",
                                             detail=source.get("detail") or ""))
        bind.execute(sa.text("UPDATE dossiers SET amount_due = amount_due + :a WHERE id = :d"),
                     {"a": source["amount"], "d": dossier_id})
    bind.execute(sa.text("UPDATE procedures SET active = :t WHERE active = :f AND NOT EXISTS "
                         "(SELECT 1 FROM fee_items WHERE fee_items.procedure_id = procedures.id)"),
                 {"t": True, "f": False})
    op.drop_index('ix_tax_obligations_dossier_id', table_name='tax_obligations')
    op.drop_table('tax_obligations')
    op.drop_index('ix_treasury_remittances_agency_month', table_name='treasury_remittances')
    op.drop_table('treasury_remittances')
    op.drop_column('fee_items', 'treasury_verified')
    op.drop_column('fee_items', 'retention_bp')
    op.drop_column('fee_items', 'budget_subitem')
    op.drop_column('fee_items', 'budget_chapter')
