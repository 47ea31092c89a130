"""agencies, fee catalogue, dossiers, payment requests, api tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:14:17.045873
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

def upgrade() -> None:

    op.create_table('agencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('parent_code', sa.String(length=40), nullable=True),
    sa.Column('dossier_unit_id', sa.String(length=40), nullable=True),
    sa.Column('tax_code', sa.String(length=20), nullable=True),
    sa.Column('receipt_form', sa.String(length=20), nullable=True),
    sa.Column('receipt_series', sa.String(length=20), nullable=True),
    sa.Column('active_from', sa.Date(), nullable=True),
    sa.Column('active_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agencies')),
    sa.UniqueConstraint('code', name=op.f('uq_agencies_code'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('procedures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('national_code', sa.String(length=40), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_en', sa.String(length=300), nullable=True),
    sa.Column('field', sa.String(length=30), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedures')),
    sa.UniqueConstraint('code', name=op.f('uq_procedures_code'))
    )
    with op.batch_alter_table('procedures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedures_field'), ['field'], unique=False)

    op.create_table('collection_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('bank_bin', sa.String(length=6), nullable=False),
    sa.Column('number', sa.String(length=19), nullable=False),
    sa.Column('holder_name', sa.String(length=200), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_collection_accounts_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_accounts')),
    sa.UniqueConstraint('bank_bin', 'number', name=op.f('uq_collection_accounts_bank_bin'))
    )
    with op.batch_alter_table('collection_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_accounts_agency_id'), ['agency_id'], unique=False)

    op.create_table('dossiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('portal_code', sa.String(length=60), nullable=True),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('applicant_name', sa.String(length=200), nullable=False),
    sa.Column('payer_class', sa.String(length=30), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('amount_due', sa.BigInteger(), nullable=False),
    sa.Column('amount_paid', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.CheckConstraint("channel IN ('online', 'counter', 'post')", name=op.f('ck_dossiers_channel')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_dossiers_agency_id_agencies')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_dossiers_procedure_id_procedures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossiers')),
    sa.UniqueConstraint('code', name=op.f('uq_dossiers_code')),
    sa.UniqueConstraint('portal_code', name=op.f('uq_dossiers_portal_code'))
    )
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossiers_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index('ix_dossiers_applicant_name', ['applicant_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossiers_procedure_id'), ['procedure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossiers_submitted_at'), ['submitted_at'], unique=False)

    op.create_table('fee_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('payer_class', sa.String(length=30), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('rate_ppm', sa.Integer(), nullable=True),
    sa.Column('cap', sa.BigInteger(), nullable=True),
    sa.Column('per_copy', sa.Boolean(), nullable=False),
    sa.Column('exempt_always', sa.Boolean(), nullable=False),
    sa.Column('exempt_condition', sa.Text(), nullable=True),
    sa.Column('online_free_from', sa.Date(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('phi', 'le_phi')", name=op.f('ck_fee_items_kind')),
    sa.CheckConstraint('amount IS NULL OR amount >= 0', name=op.f('ck_fee_items_amount')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_fee_items_procedure_id_procedures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_items')),
    sa.UniqueConstraint('procedure_id', 'code', 'payer_class', name=op.f('uq_fee_items_procedure_id'))
    )
    with op.batch_alter_table('fee_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fee_items_procedure_id'), ['procedure_id'], unique=False)

    op.create_table('dossier_charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('fee_code', sa.String(length=30), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_dossier_charges_amount')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_dossier_charges_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_charges'))
    )
    with op.batch_alter_table('dossier_charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_charges_dossier_id'), ['dossier_id'], unique=False)

    op.create_table('payment_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=12), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('amount_paid', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.String(length=25), nullable=False),
    sa.Column('qr_payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'partially_paid', 'paid', 'overpaid', 'expired', 'cancelled')", name=op.f('ck_payment_requests_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_requests_amount')),
    sa.ForeignKeyConstraint(['account_id'], ['collection_accounts.id'], name=op.f('fk_payment_requests_account_id_collection_accounts')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_payment_requests_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_requests')),
    sa.UniqueConstraint('reference', name=op.f('uq_payment_requests_reference')),
    sa.UniqueConstraint('token', name=op.f('uq_payment_requests_token'))
    )
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_requests_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index('ix_payment_requests_status_expires', ['status', 'expires_at'], unique=False)

    op.create_table('payment_request_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['payment_requests.id'], name=op.f('fk_payment_request_events_request_id_payment_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_request_events'))
    )
    with op.batch_alter_table('payment_request_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_request_events_request_id'), ['request_id'], unique=False)

def downgrade() -> None:

    with op.batch_alter_table('payment_request_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_request_events_request_id'))

    op.drop_table('payment_request_events')
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_requests_status_expires')
        batch_op.drop_index(batch_op.f('ix_payment_requests_dossier_id'))

    op.drop_table('payment_requests')
    with op.batch_alter_table('dossier_charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_charges_dossier_id'))

    op.drop_table('dossier_charges')
    with op.batch_alter_table('fee_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fee_items_procedure_id'))

    op.drop_table('fee_items')
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossiers_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_dossiers_procedure_id'))
        batch_op.drop_index('ix_dossiers_applicant_name')
        batch_op.drop_index(batch_op.f('ix_dossiers_agency_id'))

    op.drop_table('dossiers')
    with op.batch_alter_table('collection_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_accounts_agency_id'))

    op.drop_table('collection_accounts')
    with op.batch_alter_table('procedures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedures_field'))

    op.drop_table('procedures')
    op.drop_table('api_tokens')
    op.drop_table('agencies')

