"""reports: the per-dossier facts and the receipt lines the indicators read

Two tables of the reports package, derived from the service's own records and kept in step by
``reports.facts`` in the same transaction as every change made through the ORM:

- ``report_dossier_facts``: one row per dossier (start day and month in Indochina Time, agency,
  procedure, channel, status, amount due, net paid, the channels paid through as a bitmask,
  number of charge lines, the "shape" bits — cancelled 8, not started 16, fees above 0 4, paid in
  full 2, no charge line 1 —, seconds from first payment request to last payment);
- ``report_receipt_lines``: one row per line of each issued e-receipt, by Indochina day of issue.

The upgrade fills both from the records already there (the same computation as
``reports.facts.dossier_rows``, frozen here as SQL). No other table changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00
"""
from __future__ import annotations

import json
from datetime import timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_BITS = (("portal", 1), ("gateway", 2), ("counter_transfer", 4), ("card", 8), ("cash", 16))


def upgrade() -> None:
    op.create_table(
        'report_dossier_facts',
        sa.Column('dossier_id', sa.Integer(), nullable=False, autoincrement=False),
        sa.Column('start_day', sa.Date(), nullable=False),
        sa.Column('start_month', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('procedure_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('amount_due', sa.BigInteger(), nullable=False),
        sa.Column('paid_net', sa.BigInteger(), nullable=False),
        sa.Column('pay_mask', sa.Integer(), nullable=False),
        sa.Column('charge_lines', sa.Integer(), nullable=False),
        sa.Column('shape', sa.Integer(), nullable=False),
        sa.Column('request_to_paid_s', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], ondelete='CASCADE',
                                name=op.f('fk_report_dossier_facts_dossier_id_dossiers')),
        sa.PrimaryKeyConstraint('dossier_id', name=op.f('pk_report_dossier_facts')),
    )
    op.create_index('ix_report_dossier_facts_start_day', 'report_dossier_facts', ['start_day'], unique=False)
    op.create_index('ix_report_dossier_facts_month_shape', 'report_dossier_facts',
                    ['start_month', 'shape', 'pay_mask', 'amount_due', 'paid_net'], unique=False)
    op.create_index('ix_report_dossier_facts_month', 'report_dossier_facts',
                    ['start_month', 'agency_id', 'procedure_id', 'channel', 'shape', 'pay_mask', 'amount_due',
                     'paid_net'], unique=False)
    op.create_table(
        'report_receipt_lines',
        sa.Column('receipt_id', sa.Integer(), nullable=False, autoincrement=False),
        sa.Column('line_no', sa.Integer(), nullable=False, autoincrement=False),
        sa.Column('issued_day', sa.Date(), nullable=False),
        sa.Column('issued_month', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('fee_code', sa.String(length=30), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], ondelete='CASCADE',
                                name=op.f('fk_report_receipt_lines_receipt_id_receipts')),
        sa.PrimaryKeyConstraint('receipt_id', 'line_no', name=op.f('pk_report_receipt_lines')),
    )
    op.create_index('ix_report_receipt_lines_day', 'report_receipt_lines', ['issued_day', 'agency_id'], unique=False)
    _fill_facts()
    _fill_receipt_lines()
    op.create_table(
        'report_pending',
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('entity_id', sa.BigInteger(), nullable=False, autoincrement=False),
        sa.PrimaryKeyConstraint('kind', 'entity_id', name=op.f('pk_report_pending')),
    )


def _fill_facts() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        day = "CAST((d.submitted_at AT TIME ZONE 'UTC') + INTERVAL '7 hours' AS DATE)"
        month = "CAST(to_char((d.submitted_at AT TIME ZONE 'UTC') + INTERVAL '7 hours', 'YYYYMM') AS INTEGER)"

        def epoch(x: str) -> str:
            return f"CAST(FLOOR(EXTRACT(EPOCH FROM {x})) AS BIGINT)"
    else:
        day = "date(d.submitted_at, '+7 hours')"
        month = "CAST(strftime('%Y%m', d.submitted_at, '+7 hours') AS INTEGER)"

        def epoch(x: str) -> str:
            return f"CAST(strftime('%s', {x}) AS INTEGER)"
    bit = "CASE " + " ".join(f"WHEN a.payment_channel = '{name}' THEN {value}" for name, value in _BITS) + " ELSE 0 END"
    live = "a.dossier_id = d.id AND a.reversed_at IS NULL"
    op.execute(f"""
        INSERT INTO report_dossier_facts (dossier_id, start_day, start_month, agency_id, procedure_id, channel, status,
                                          amount_due, paid_net, pay_mask, charge_lines, shape, request_to_paid_s)
        SELECT s.dossier_id, s.start_day, s.start_month, s.agency_id, s.procedure_id, s.channel, s.status,
               s.amount_due, s.paid_net, CAST(s.pay_mask AS INTEGER), CAST(s.charge_lines AS INTEGER),
               CASE WHEN s.status IN ('rejected', 'withdrawn', 'stopped') THEN 8
                    WHEN s.status IN ('submitted') THEN 16 ELSE 0 END
               + CASE WHEN s.amount_due > 0 THEN 4 ELSE 0 END
               + CASE WHEN s.amount_due > 0 AND s.paid_net >= s.amount_due THEN 2 ELSE 0 END
               + CASE WHEN s.charge_lines = 0 THEN 1 ELSE 0 END,
               CASE WHEN s.amount_due > 0 AND s.paid_net >= s.amount_due AND s.first_request IS NOT NULL
                         AND s.last_payment - s.first_request >= 0
                    THEN s.last_payment - s.first_request END
        FROM (
            SELECT d.id AS dossier_id, {day} AS start_day, {month} AS start_month, d.agency_id, d.procedure_id,
                   d.channel, d.status, d.amount_due,
                   (SELECT COALESCE(SUM(a.amount), 0) FROM allocations a WHERE {live})
                   - (SELECT COALESCE(SUM(r.amount), 0) FROM refunds r
                      WHERE r.dossier_id = d.id AND r.status = 'paid') AS paid_net,
                   (SELECT COALESCE(SUM(DISTINCT {bit}), 0) FROM allocations a WHERE {live}) AS pay_mask,
                   (SELECT COUNT(*) FROM dossier_charges c WHERE c.dossier_id = d.id) AS charge_lines,
                   (SELECT MIN({epoch('p.created_at')}) FROM payment_requests p WHERE p.dossier_id = d.id)
                       AS first_request,
                   (SELECT MAX({epoch('COALESCE(t.booked_at, cp.received_at, a.created_at)')})
                    FROM allocations a LEFT OUTER JOIN bank_transactions t ON t.id = a.transaction_id
                    LEFT OUTER JOIN cash_payments cp ON cp.id = a.cash_payment_id WHERE {live}) AS last_payment
            FROM dossiers d
        ) s
    """)


def _fill_receipt_lines() -> None:
    bind = op.get_bind()
    receipts = sa.table('receipts', sa.column('id', sa.Integer), sa.column('status', sa.String),
                        sa.column('issued_at', sa.DateTime(timezone=True)), sa.column('lines', sa.JSON),
                        sa.column('agency_id', sa.Integer), sa.column('kind', sa.String))
    lines = sa.table('report_receipt_lines', *(sa.column(n) for n in (
        'receipt_id', 'line_no', 'issued_day', 'issued_month', 'agency_id', 'kind', 'fee_code', 'name', 'amount')))
    after = 0
    while True:
        batch = bind.execute(sa.select(receipts).where(receipts.c.id > after, receipts.c.status == 'issued')
                             .order_by(receipts.c.id).limit(5000)).all()
        if not batch:
            return
        rows = []
        for r in batch:
            issued = r.issued_at if r.issued_at.tzinfo else r.issued_at.replace(tzinfo=timezone.utc)
            day = (issued.astimezone(timezone.utc) + timedelta(hours=7)).date()
            content = json.loads(r.lines) if isinstance(r.lines, str) else (r.lines or [])
            for number, line in enumerate(content, start=1):
                amount = line.get('amount') if isinstance(line, dict) else None
                if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                    continue
                rows.append({'receipt_id': r.id, 'line_no': number, 'issued_day': day,
                             'issued_month': day.year * 100 + day.month, 'agency_id': r.agency_id, 'kind': r.kind,
                             'fee_code': str(line.get('fee_code') or '')[:30],
                             'name': str(line.get('name') or '')[:300], 'amount': amount})
        if rows:
            bind.execute(lines.insert(), rows)
        after = batch[-1].id


def downgrade() -> None:
    op.drop_table('report_pending')
    op.drop_index('ix_report_receipt_lines_day', table_name='report_receipt_lines')
    op.drop_table('report_receipt_lines')
    op.drop_index('ix_report_dossier_facts_month', table_name='report_dossier_facts')
    op.drop_index('ix_report_dossier_facts_month_shape', table_name='report_dossier_facts')
    op.drop_index('ix_report_dossier_facts_start_day', table_name='report_dossier_facts')
    op.drop_table('report_dossier_facts')

