"""reports: the lines of money receipted by another issuer's document

``report_document_lines``: one row per fee line of a dossier paid in full whose every payment in
force is receipted elsewhere (the national portal's platform, a paper receipt for cash), so that
it gets no e-receipt (``payments.money_rules.receipted_elsewhere``); dated on the Indochina day
of its last payment, with the issuer and the document(s) that receipt it. Money collected and
the treasury's figures count these lines beside the e-receipts' (docs/REPORTS.md, TREASURY.md).

The upgrade queues every dossier paid in full in ``report_pending``: the reports rewrite its
rows before they next read (``reports.facts.drain``), with the same code as every later change.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-03 18:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_document_lines',
        sa.Column('dossier_id', sa.Integer(), nullable=False, autoincrement=False),
        sa.Column('line_no', sa.Integer(), nullable=False, autoincrement=False),
        sa.Column('paid_day', sa.Date(), nullable=False),
        sa.Column('paid_month', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('fee_code', sa.String(length=30), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('issuer', sa.String(length=10), nullable=False),
        sa.Column('document', sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], ondelete='CASCADE',
                                name=op.f('fk_report_document_lines_dossier_id_dossiers')),
        sa.PrimaryKeyConstraint('dossier_id', 'line_no', name=op.f('pk_report_document_lines')),
    )
    op.create_index('ix_report_document_lines_day', 'report_document_lines', ['paid_day', 'agency_id'], unique=False)
    op.execute("INSERT INTO report_pending (kind, entity_id) SELECT 'dossier', id FROM dossiers "
               "WHERE amount_due > 0 AND amount_paid >= amount_due ON CONFLICT (kind, entity_id) DO NOTHING")


def downgrade() -> None:
    op.drop_index('ix_report_document_lines_day', table_name='report_document_lines')
    op.drop_table('report_document_lines')
