"""bounded storage for refused callbacks, and failed statement imports

- ``journal_entries.body_size``: the size of the body as it arrived. A refused or
  unauthenticated callback keeps only its first 4 KiB (``body``), its size and its SHA-256
  (``body_sha256``, of the whole body); accepted ones are kept whole. NULL for the entries
  stored before this revision (they were kept whole, up to 64 KB).
- ``statement_imports.error``: why an import stopped half-way (status ``failed``); the same
  file again resumes it.

Plain ADD/DROP COLUMN (SQLite 3.35+), no table rebuild.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('journal_entries', sa.Column('body_size', sa.Integer(), nullable=True))
    op.add_column('statement_imports', sa.Column('error', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('statement_imports', 'error')
    op.drop_column('journal_entries', 'body_size')
