"""receipts: the provider's signed document, which payment each receipt covers, four-eyes
cancellation and replacement, the paper receipt of cash, and receipts by agency and day

- ``receipts``: ``provider``, ``transmission_code``, ``signed_xml``, ``signed_at`` (issued by
  the unit's e-receipt system, signed after the payment's commit); an index on
  (agency_id, issued_at) for the daily list and BC26;
- ``receipt_links``: e-receipt ↔ allocation;
- ``receipt_changes``: a finance officer's request to cancel or replace a receipt, and
  another's decision;
- ``cash_payments``: ``paper_form``, ``paper_series`` of the paper receipt handed over.

Only added columns, tables and indexes (no table rebuild on SQLite).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.types import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.add_column('receipts', sa.Column('provider', sa.String(30), nullable=True))
    op.add_column('receipts', sa.Column('transmission_code', sa.String(64), nullable=True))
    op.add_column('receipts', sa.Column('signed_xml', sa.Text(), nullable=True))
    op.add_column('receipts', sa.Column('signed_at', UTCDateTime(), nullable=True))
    op.create_index('ix_receipts_agency_issued', 'receipts', ['agency_id', 'issued_at'])
    op.add_column('cash_payments', sa.Column('paper_form', sa.String(20), nullable=True))
    op.add_column('cash_payments', sa.Column('paper_series', sa.String(20), nullable=True))
    op.create_table(
        'receipt_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('receipt_id', sa.Integer(), nullable=False),
        sa.Column('allocation_id', _ID, nullable=False),
        sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_receipt_links_receipt_id_receipts')),
        sa.ForeignKeyConstraint(['allocation_id'], ['allocations.id'],
                                name=op.f('fk_receipt_links_allocation_id_allocations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_links')),
        sa.UniqueConstraint('receipt_id', 'allocation_id', name=op.f('uq_receipt_links_receipt_id')),
    )
    op.create_index(op.f('ix_receipt_links_receipt_id'), 'receipt_links', ['receipt_id'])
    op.create_index(op.f('ix_receipt_links_allocation_id'), 'receipt_links', ['allocation_id'])
    op.create_table(
        'receipt_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('receipt_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(10), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('payer_name', sa.String(200), nullable=True),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('requested_by', sa.String(100), nullable=False),
        sa.Column('requested_at', UTCDateTime(), nullable=False),
        sa.Column('decided_by', sa.String(100), nullable=True),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.Column('replacement_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("action IN ('cancel', 'replace')", name=op.f('ck_receipt_changes_action')),
        sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')", name=op.f('ck_receipt_changes_status')),
        sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_receipt_changes_receipt_id_receipts')),
        sa.ForeignKeyConstraint(['replacement_id'], ['receipts.id'],
                                name=op.f('fk_receipt_changes_replacement_id_receipts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_changes')),
    )
    op.create_index(op.f('ix_receipt_changes_receipt_id'), 'receipt_changes', ['receipt_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_receipt_changes_receipt_id'), table_name='receipt_changes')
    op.drop_table('receipt_changes')
    op.drop_index(op.f('ix_receipt_links_allocation_id'), table_name='receipt_links')
    op.drop_index(op.f('ix_receipt_links_receipt_id'), table_name='receipt_links')
    op.drop_table('receipt_links')
    # Plain DROP COLUMN (SQLite 3.35+), never a rebuilt table: rebuilding ``receipts`` would
    # cascade-delete the report lines that refer to it.
    op.drop_column('cash_payments', 'paper_series')
    op.drop_column('cash_payments', 'paper_form')
    op.drop_index('ix_receipts_agency_issued', table_name='receipts')
    for column in ('signed_at', 'signed_xml', 'transmission_code', 'provider'):
        op.drop_column('receipts', column)
