"""reconciliation: decisions, allocations, exceptions, refunds, closes, receipts, outbox, audit, settings, cash and portal payments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:38:32.727839
"""
from __future__ import annotations

import re
import unicodedata

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=60), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records'))
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_records_action'), ['action'], unique=False)

    op.create_table('job_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('job', sa.String(length=60), nullable=False),
    sa.Column('instance', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_job'), ['job'], unique=False)

    op.create_table('outbox_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('dossier_code', sa.String(length=60), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_events_event_id'))
    )
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_events_dossier_code'), ['dossier_code'], unique=False)
        batch_op.create_index('ix_outbox_events_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('receipt_counters',
    sa.Column('form', sa.String(length=20), nullable=False),
    sa.Column('series', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('form', 'series', 'year', name=op.f('pk_receipt_counters'))
    )
    op.create_table('settings',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('outbox_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_excerpt', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['outbox_events.id'], name=op.f('fk_outbox_deliveries_event_id_outbox_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_deliveries'))
    )
    with op.batch_alter_table('outbox_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_deliveries_event_id'), ['event_id'], unique=False)

    op.create_table('cash_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('amount_tendered', sa.BigInteger(), nullable=True),
    sa.Column('receipt_number', sa.String(length=40), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('clerk_username', sa.String(length=64), nullable=False),
    sa.Column('clerk_name', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_cash_payments_amount')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_cash_payments_agency_id_agencies')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_cash_payments_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cash_payments'))
    )
    with op.batch_alter_table('cash_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cash_payments_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cash_payments_received_on'), ['received_on'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('form', sa.String(length=20), nullable=False),
    sa.Column('series', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('payer_name', sa.String(length=200), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('payment_channel', sa.String(length=20), nullable=True),
    sa.Column('lookup_token', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('phi', 'le_phi')", name=op.f('ck_receipts_kind')),
    sa.CheckConstraint("status IN ('issued', 'cancelled')", name=op.f('ck_receipts_status')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_receipts_agency_id_agencies')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_receipts_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['replaces_id'], ['receipts.id'], name=op.f('fk_receipts_replaces_id_receipts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('form', 'series', 'year', 'number', name=op.f('uq_receipts_form')),
    sa.UniqueConstraint('lookup_token', name=op.f('uq_receipts_lookup_token'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_dossier_id'), ['dossier_id'], unique=False)

    op.create_table('daily_closes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('blocking', sa.JSON(), nullable=False),
    sa.Column('run_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_step', sa.String(length=30), nullable=True),
    sa.Column('run_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=100), nullable=True),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopened_by', sa.String(length=100), nullable=True),
    sa.Column('reopen_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['collection_accounts.id'], name=op.f('fk_daily_closes_account_id_collection_accounts')),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_daily_closes_statement_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_closes')),
    sa.UniqueConstraint('account_id', 'day', name=op.f('uq_daily_closes_account_id'))
    )
    op.create_table('match_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('suggestions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id'], name=op.f('fk_match_decisions_transaction_id_bank_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_decisions'))
    )
    with op.batch_alter_table('match_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_decisions_transaction_id'), ['transaction_id'], unique=False)

    op.create_table('allocations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('cash_payment_id', sa.Integer(), nullable=True),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('payment_request_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('payment_channel', sa.String(length=20), nullable=False),
    sa.Column('decision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversed_by', sa.String(length=100), nullable=True),
    sa.Column('reverse_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("payment_channel IN ('portal', 'gateway', 'counter_transfer', 'card', 'cash')", name=op.f('ck_allocations_payment_channel')),
    sa.CheckConstraint('(transaction_id IS NULL) <> (cash_payment_id IS NULL)', name=op.f('ck_allocations_source')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_allocations_amount')),
    sa.ForeignKeyConstraint(['cash_payment_id'], ['cash_payments.id'], name=op.f('fk_allocations_cash_payment_id_cash_payments')),
    sa.ForeignKeyConstraint(['decision_id'], ['match_decisions.id'], name=op.f('fk_allocations_decision_id_match_decisions')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_allocations_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['payment_request_id'], ['payment_requests.id'], name=op.f('fk_allocations_payment_request_id_payment_requests')),
    sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id'], name=op.f('fk_allocations_transaction_id_bank_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations'))
    )
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_index('ix_allocations_created', ['created_at'], unique=False)
        batch_op.create_index('ix_allocations_dossier', ['dossier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocations_payment_request_id'), ['payment_request_id'], unique=False)
        batch_op.create_index('ix_allocations_transaction', ['transaction_id'], unique=False)

    op.create_table('exceptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('dossier_id', sa.Integer(), nullable=True),
    sa.Column('payment_request_id', sa.Integer(), nullable=True),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('decision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('suggestions', sa.JSON(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['collection_accounts.id'], name=op.f('fk_exceptions_account_id_collection_accounts')),
    sa.ForeignKeyConstraint(['decision_id'], ['match_decisions.id'], name=op.f('fk_exceptions_decision_id_match_decisions')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_exceptions_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['payment_request_id'], ['payment_requests.id'], name=op.f('fk_exceptions_payment_request_id_payment_requests')),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_exceptions_statement_id_statements')),
    sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id'], name=op.f('fk_exceptions_transaction_id_bank_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exceptions'))
    )
    with op.batch_alter_table('exceptions', schema=None) as batch_op:
        batch_op.create_index('ix_exceptions_dossier', ['dossier_id'], unique=False)
        batch_op.create_index('ix_exceptions_status_reason', ['status', 'reason'], unique=False)
        batch_op.create_index('ix_exceptions_transaction', ['transaction_id'], unique=False)

    op.create_table('portal_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=120), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=True),
    sa.Column('dossier_code', sa.String(length=60), nullable=False),
    sa.Column('procedure_code', sa.String(length=40), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('failure_code', sa.String(length=10), nullable=True),
    sa.Column('failure_message', sa.Text(), nullable=True),
    sa.Column('bank_ref', sa.String(length=120), nullable=True),
    sa.Column('payer_bank', sa.String(length=10), nullable=True),
    sa.Column('account_number', sa.String(length=34), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('journal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('confirmed_via', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('queries', sa.Integer(), nullable=False),
    sa.Column('last_query_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_portal_payments_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['journal_id'], ['journal_entries.id'], name=op.f('fk_portal_payments_journal_id_journal_entries')),
    sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id'], name=op.f('fk_portal_payments_transaction_id_bank_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_payments')),
    sa.UniqueConstraint('ref', name=op.f('uq_portal_payments_ref'))
    )
    with op.batch_alter_table('portal_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_payments_dossier_id'), ['dossier_id'], unique=False)

    op.create_table('exception_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exception_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['exception_id'], ['exceptions.id'], name=op.f('fk_exception_notes_exception_id_exceptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exception_notes'))
    )
    with op.batch_alter_table('exception_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exception_notes_exception_id'), ['exception_id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('dossier_id', sa.Integer(), nullable=True),
    sa.Column('exception_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('beneficiary_bank', sa.String(length=6), nullable=False),
    sa.Column('beneficiary_account', sa.String(length=34), nullable=False),
    sa.Column('beneficiary_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payout_ref', sa.String(length=120), nullable=True),
    sa.Column('payout_transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('requested', 'approved', 'rejected', 'paid', 'failed', 'cancelled')", name=op.f('ck_refunds_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refunds_amount')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_refunds_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['exception_id'], ['exceptions.id'], name=op.f('fk_refunds_exception_id_exceptions')),
    sa.ForeignKeyConstraint(['payout_transaction_id'], ['bank_transactions.id'], name=op.f('fk_refunds_payout_transaction_id_bank_transactions')),
    sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id'], name=op.f('fk_refunds_transaction_id_bank_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_transaction_id'), ['transaction_id'], unique=False)

    with op.batch_alter_table('bank_transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disposition', sa.String(length=20), nullable=True))

    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_key', sa.String(length=60), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('portal_code_key', sa.String(length=60), nullable=True))
        batch_op.create_index(batch_op.f('ix_dossiers_code_key'), ['code_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossiers_portal_code_key'), ['portal_code_key'], unique=False)
    _fill_code_keys()


def _key(code):
    # The same rule as payments.references.normalise, frozen here as this migration applied it.
    if code is None:
        return None
    text = unicodedata.normalize("NFD", code.replace("đ", "d").replace("Đ", "D"))
    return re.sub(r"[^A-Z0-9]", "", "".join(c for c in text if not unicodedata.combining(c)).upper())


def _fill_code_keys() -> None:
    bind = op.get_bind()
    dossiers = sa.table("dossiers", sa.column("id"), sa.column("code"), sa.column("portal_code"),
                        sa.column("code_key"), sa.column("portal_code_key"))
    for row in bind.execute(sa.select(dossiers.c.id, dossiers.c.code, dossiers.c.portal_code)).all():
        bind.execute(dossiers.update().where(dossiers.c.id == row.id)
                     .values(code_key=_key(row.code), portal_code_key=_key(row.portal_code)))


def downgrade() -> None:
    with op.batch_alter_table('bank_transactions', schema=None) as batch_op:
        batch_op.drop_column('disposition')
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossiers_portal_code_key'))
        batch_op.drop_index(batch_op.f('ix_dossiers_code_key'))
        batch_op.drop_column('portal_code_key')
        batch_op.drop_column('code_key')

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_transaction_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_dossier_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('exception_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exception_notes_exception_id'))

    op.drop_table('exception_notes')
    with op.batch_alter_table('portal_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_payments_dossier_id'))

    op.drop_table('portal_payments')
    with op.batch_alter_table('exceptions', schema=None) as batch_op:
        batch_op.drop_index('ix_exceptions_transaction')
        batch_op.drop_index('ix_exceptions_status_reason')
        batch_op.drop_index('ix_exceptions_dossier')

    op.drop_table('exceptions')
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index('ix_allocations_transaction')
        batch_op.drop_index(batch_op.f('ix_allocations_payment_request_id'))
        batch_op.drop_index('ix_allocations_dossier')
        batch_op.drop_index('ix_allocations_created')

    op.drop_table('allocations')
    with op.batch_alter_table('match_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_decisions_transaction_id'))

    op.drop_table('match_decisions')
    op.drop_table('daily_closes')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_dossier_id'))

    op.drop_table('receipts')
    with op.batch_alter_table('cash_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cash_payments_received_on'))
        batch_op.drop_index(batch_op.f('ix_cash_payments_dossier_id'))

    op.drop_table('cash_payments')
    with op.batch_alter_table('outbox_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_deliveries_event_id'))

    op.drop_table('outbox_deliveries')
    op.drop_table('settings')
    op.drop_table('receipt_counters')
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_events_due')
        batch_op.drop_index(batch_op.f('ix_outbox_events_dossier_code'))

    op.drop_table('outbox_events')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_job'))

    op.drop_table('job_runs')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_records_action'))

    op.drop_table('audit_records')
    op.drop_table('audit_head')
