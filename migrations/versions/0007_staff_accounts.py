"""staff accounts: several roles per user, session versions, forced password change, and
sign-in throttling per account and per address instead of the account lock-out

- ``user_roles`` (user, role): every existing user keeps the one role they had;
- ``users.session_version`` (ends a person's sessions everywhere), ``must_change_password``,
  ``password_changed_at``, ``last_login_at``;
- ``users.role``, ``failed_logins`` and ``locked_until`` go: roles are in ``user_roles`` and
  failures are counted in ``login_throttles`` (one row per account, per address and per
  account-and-address), where a wait grows with the failures instead of a lock anyone could set.

The columns are dropped with ``ALTER TABLE ... DROP COLUMN`` (SQLite 3.35+), not by rebuilding
the table: a rebuilt ``users`` would cascade-delete the new ``user_roles`` rows on SQLite.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# When going back to one role per user: the one that lets the person do the most.
_PRECEDENCE = ("admin", "finance", "supervisor", "counter")


def upgrade() -> None:
    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_roles'))
    )
    op.execute("INSERT INTO user_roles (user_id, role) SELECT id, role FROM users")
    op.add_column('users', sa.Column('session_version', sa.Integer(), nullable=False, server_default='1'))
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column('users', sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_column('users', 'role')
    op.drop_column('users', 'failed_logins')
    op.drop_column('users', 'locked_until')
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('wait_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles'))
    )


def downgrade() -> None:
    op.drop_table('login_throttles')
    op.add_column('users', sa.Column('role', sa.String(length=20), nullable=False, server_default='counter'))
    op.add_column('users', sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('users', sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    for role in reversed(_PRECEDENCE):  # the last written wins: the role of highest precedence
        op.execute(sa.text("UPDATE users SET role = :role WHERE id IN "
                           "(SELECT user_id FROM user_roles WHERE role = :role)").bindparams(role=role))
    op.drop_column('users', 'last_login_at')
    op.drop_column('users', 'password_changed_at')
    op.drop_column('users', 'must_change_password')
    op.drop_column('users', 'session_version')
    op.drop_table('user_roles')
