"""bank edge: journal, bank transactions, statements

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:33:35.760918
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callback_nonces',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('nonce', sa.String(length=200), nullable=False),
    sa.Column('journal_id', sa.BigInteger(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'nonce', name=op.f('pk_callback_nonces'))
    )
    op.create_table('statement_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('lines_done', sa.Integer(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('new_transactions', sa.Integer(), nullable=False),
    sa.Column('known_transactions', sa.Integer(), nullable=False),
    sa.Column('balance_ok', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_imports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_statement_imports_sha256'))
    )
    op.create_table('bank_transactions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bank_bin', sa.String(length=6), nullable=False),
    sa.Column('account_number', sa.String(length=34), nullable=False),
    sa.Column('bank_ref', sa.String(length=120), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('counter_account', sa.String(length=40), nullable=True),
    sa.Column('counter_name', sa.String(length=200), nullable=True),
    sa.Column('counter_bank', sa.String(length=60), nullable=True),
    sa.Column('virtual_account', sa.String(length=40), nullable=True),
    sa.Column('channels', sa.String(length=120), nullable=False),
    sa.Column('first_channel', sa.String(length=20), nullable=False),
    sa.Column('reversal', sa.Boolean(), nullable=False),
    sa.Column('reversal_of_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('pending', sa.Boolean(), nullable=False),
    sa.Column('on_statement', sa.Boolean(), nullable=False),
    sa.Column('synthetic_ref', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('allocated', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_bank_transactions_direction')),
    sa.CheckConstraint('allocated >= 0 AND allocated <= amount', name=op.f('ck_bank_transactions_allocated')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_bank_transactions_amount')),
    sa.ForeignKeyConstraint(['account_id'], ['collection_accounts.id'], name=op.f('fk_bank_transactions_account_id_collection_accounts')),
    sa.ForeignKeyConstraint(['reversal_of_id'], ['bank_transactions.id'], name=op.f('fk_bank_transactions_reversal_of_id_bank_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_transactions')),
    sa.UniqueConstraint('bank_bin', 'account_number', 'bank_ref', name='uq_bank_transactions_key')
    )
    with op.batch_alter_table('bank_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_bank_transactions_account_day', ['account_number', 'booked_on'], unique=False)
        batch_op.create_index('ix_bank_transactions_status', ['status'], unique=False)

    op.create_table('statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('section_index', sa.Integer(), nullable=False),
    sa.Column('account_number', sa.String(length=34), nullable=False),
    sa.Column('bank_bin', sa.String(length=6), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('statement_ref', sa.String(length=120), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('opening_balance', sa.BigInteger(), nullable=True),
    sa.Column('closing_balance', sa.BigInteger(), nullable=True),
    sa.Column('credits', sa.BigInteger(), nullable=False),
    sa.Column('debits', sa.BigInteger(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('pending_entries', sa.Integer(), nullable=False),
    sa.Column('balance_ok', sa.Boolean(), nullable=False),
    sa.Column('balance_message', sa.Text(), nullable=False),
    sa.Column('continuity_ok', sa.Boolean(), nullable=True),
    sa.Column('previous_statement_id', sa.Integer(), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('resolved_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['collection_accounts.id'], name=op.f('fk_statements_account_id_collection_accounts')),
    sa.ForeignKeyConstraint(['import_id'], ['statement_imports.id'], name=op.f('fk_statements_import_id_statement_imports')),
    sa.ForeignKeyConstraint(['previous_statement_id'], ['statements.id'], name=op.f('fk_statements_previous_statement_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statements'))
    )
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.create_index('ix_statements_account_period', ['account_number', 'period_end'], unique=False)
        batch_op.create_index(batch_op.f('ix_statements_import_id'), ['import_id'], unique=False)

    op.create_table('journal_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('event_id', sa.String(length=120), nullable=True),
    sa.Column('response_code', sa.String(length=10), nullable=True),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id'], name=op.f('fk_journal_entries_transaction_id_bank_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries'))
    )
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index('ix_journal_entries_channel_event', ['channel', 'event_id'], unique=False)
        batch_op.create_index('ix_journal_entries_outcome_received', ['outcome', 'received_at'], unique=False)

    op.create_table('statement_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('pending', sa.Boolean(), nullable=False),
    sa.Column('is_new', sa.Boolean(), nullable=False),
    sa.Column('differs', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_statement_lines_statement_id_statements')),
    sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id'], name=op.f('fk_statement_lines_transaction_id_bank_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_lines'))
    )
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_lines_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_transaction_id'), ['transaction_id'], unique=False)

    op.create_table('transaction_sightings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('journal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('event_id', sa.String(length=120), nullable=True),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('differences', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['journal_id'], ['journal_entries.id'], name=op.f('fk_transaction_sightings_journal_id_journal_entries')),
    sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id'], name=op.f('fk_transaction_sightings_transaction_id_bank_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transaction_sightings'))
    )
    with op.batch_alter_table('transaction_sightings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transaction_sightings_transaction_id'), ['transaction_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('transaction_sightings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transaction_sightings_transaction_id'))

    op.drop_table('transaction_sightings')
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_lines_transaction_id'))
        batch_op.drop_index(batch_op.f('ix_statement_lines_statement_id'))

    op.drop_table('statement_lines')
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_entries_outcome_received')
        batch_op.drop_index('ix_journal_entries_channel_event')

    op.drop_table('journal_entries')
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statements_import_id'))
        batch_op.drop_index('ix_statements_account_period')

    op.drop_table('statements')
    with op.batch_alter_table('bank_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_transactions_status')
        batch_op.drop_index('ix_bank_transactions_account_day')

    op.drop_table('bank_transactions')
    op.drop_table('statement_imports')
    op.drop_table('callback_nonces')
