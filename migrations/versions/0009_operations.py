"""operations: the request id on each callback's journal entry, and the scheduler's heartbeat

- ``journal_entries.request_id`` (indexed): the ``X-Request-ID`` the request came with (when
  sane) or the one the service gave it, also in the response header and the JSON log line,
  so that an operator finds a bank's request in the log and in the journal;
- ``scheduler_heartbeats`` (one row per scheduler instance): each instance writes the time
  every minute and whether it leads; ``/readyz`` fails when no leader wrote lately;
- ``ix_job_runs_job_outcome_finished``: each job's last success, read at every metrics
  scrape, without a scan of the history.

Only ``add_column`` / ``create_index`` / ``create_table``: nothing is rebuilt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('journal_entries', sa.Column('request_id', sa.String(length=64), nullable=True))
    op.create_index('ix_journal_entries_request_id', 'journal_entries', ['request_id'], unique=False)
    op.create_index('ix_job_runs_job_outcome_finished', 'job_runs', ['job', 'outcome', 'finished_at'], unique=False)
    op.create_table('scheduler_heartbeats',
    sa.Column('instance', sa.String(length=100), nullable=False),
    sa.Column('is_leader', sa.Boolean(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('instance', name=op.f('pk_scheduler_heartbeats'))
    )


def downgrade() -> None:
    op.drop_table('scheduler_heartbeats')
    op.drop_index('ix_job_runs_job_outcome_finished', table_name='job_runs')
    op.drop_index('ix_journal_entries_request_id', table_name='journal_entries')
    op.drop_column('journal_entries', 'request_id')  # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): no rebuild
