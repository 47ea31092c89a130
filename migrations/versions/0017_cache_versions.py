"""cache versions: a counter per table that app processes cache, bumped by triggers

``cache_versions`` holds one row per cached table (``collection_accounts``, ``settings``: the
accounts and the matching rules every callback needs). A trigger on each table adds 1 to its
row in the same transaction as any insert, update or delete (on PostgreSQL also a truncate),
whoever writes: the app, a migration, or someone in psql. Each process reads the counters
once per transaction (``core.versions``) and reloads a cache whose counter moved, so a change
committed anywhere is seen by the next callback of every instance (docs/OPERATIONS.md,
"Growing past one machine").

Triggers rather than bumps in the code, so that a hand edit is never served stale. A later
migration that rebuilds one of these tables on SQLite (``batch_alter_table``) drops its
triggers: re-create them there (``tests/core/test_versions.py`` notices).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 21:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

TABLES = ('collection_accounts', 'settings')


def upgrade() -> None:
    table = op.create_table(
        'cache_versions',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_versions')),
    )
    op.bulk_insert(table, [{'name': name, 'version': 0} for name in TABLES])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE FUNCTION bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "UPDATE cache_versions SET version = version + 1 WHERE name = TG_TABLE_NAME; RETURN NULL; END $$")
        for name in TABLES:
            op.execute(f"CREATE TRIGGER {name}_cache_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_version()")
    else:
        for name in TABLES:
            for event in ('insert', 'update', 'delete'):
                op.execute(f"CREATE TRIGGER {name}_cache_version_{event} AFTER {event.upper()} ON {name} BEGIN "
                           f"UPDATE cache_versions SET version = version + 1 WHERE name = '{name}'; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_cache_version ON {name}")
        op.execute("DROP FUNCTION IF EXISTS bump_cache_version()")
    else:
        for name in TABLES:
            for event in ('insert', 'update', 'delete'):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_cache_version_{event}")
    op.drop_table('cache_versions')
