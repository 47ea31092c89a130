"""search by name without diacritics, and cards printed

- ``dossiers.search_key``: the applicant's name without diacritics, lower case, single spaces
  (``qr.text.search_key``), indexed, so "nguyen van an" finds "Nguyễn Văn An" on both
  databases alike; existing dossiers are backfilled here. Nullable: rows written by plain SQL
  fall back to the name itself.
- ``payment_requests.printed_at``: when the counter first printed the request's card, so the
  page offers "In thẻ" until then and "In lại thẻ" after.

Only added columns and an index (no table rebuild on SQLite).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:00:00
"""
from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_SPECIAL = str.maketrans({"Đ": "D", "đ": "d", "Ð": "D", "ð": "d"})


def _key(text: str | None) -> str:
    # A copy of qr.text.search_key as it stood: a migration never changes with the code.
    decomposed = unicodedata.normalize("NFD", (text or "").translate(_SPECIAL))
    stripped = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn"))
    return " ".join(stripped.lower().split())


def upgrade() -> None:
    op.add_column('dossiers', sa.Column('search_key', sa.String(length=200), nullable=True))
    op.create_index('ix_dossiers_search_key', 'dossiers', ['search_key'])
    op.add_column('payment_requests', sa.Column('printed_at', sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    dossiers = sa.table('dossiers', sa.column('id', sa.Integer), sa.column('applicant_name', sa.String),
                        sa.column('search_key', sa.String))
    last = 0
    while True:  # in batches: a large register is never held in memory at once
        rows = bind.execute(sa.select(dossiers.c.id, dossiers.c.applicant_name).where(dossiers.c.id > last)
                            .order_by(dossiers.c.id).limit(2000)).all()
        if not rows:
            break
        bind.execute(dossiers.update().where(dossiers.c.id == sa.bindparam('row_id'))
                     .values(search_key=sa.bindparam('key')),
                     [{'row_id': r.id, 'key': _key(r.applicant_name)[:200]} for r in rows])
        last = rows[-1].id


def downgrade() -> None:
    op.drop_column('payment_requests', 'printed_at')
    op.drop_index('ix_dossiers_search_key', table_name='dossiers')
    op.drop_column('dossiers', 'search_key')
