"""portal index uploads: the national portal's monthly export of the 766 online payment index,
as supervisors upload it, to compare with the service's own figure (reports.portal_reconcile)

- ``portal_index_uploads``: one row per upload (month, file names, SHA-256, who, when);
- ``portal_index_units``: its lines per unit (code, name, numerator, denominator, rate);
- ``portal_index_dossiers``: its per-dossier lines, when a per-dossier export came with it
  (dossier code, unit, the online-payment flag and fee total the portal holds).

New tables only; no other table changes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_index_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('dossier_filename', sa.String(length=255), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('unit_count', sa.Integer(), nullable=False),
    sa.Column('dossier_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_index_uploads'))
    )
    op.create_index('ix_portal_index_uploads_month', 'portal_index_uploads', ['month', 'id'], unique=False)
    op.create_table('portal_index_units',
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=60), nullable=False),
    sa.Column('unit_name', sa.String(length=300), nullable=False),
    sa.Column('numerator', sa.BigInteger(), nullable=False),
    sa.Column('denominator', sa.BigInteger(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['upload_id'], ['portal_index_uploads.id'],
                            name=op.f('fk_portal_index_units_upload_id_portal_index_uploads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('upload_id', 'line', name=op.f('pk_portal_index_units'))
    )
    op.create_table('portal_index_dossiers',
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('dossier_code', sa.String(length=60), nullable=False),
    sa.Column('unit_code', sa.String(length=60), nullable=True),
    sa.Column('flag', sa.Integer(), nullable=True),
    sa.Column('fee_total', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['upload_id'], ['portal_index_uploads.id'],
                            name=op.f('fk_portal_index_dossiers_upload_id_portal_index_uploads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('upload_id', 'dossier_code', name=op.f('pk_portal_index_dossiers'))
    )


def downgrade() -> None:
    op.drop_table('portal_index_dossiers')
    op.drop_table('portal_index_units')
    op.drop_index('ix_portal_index_uploads_month', table_name='portal_index_uploads')
    op.drop_table('portal_index_uploads')
