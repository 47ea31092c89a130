"""fee rules beyond the schedule: ``fee_rules``, and the rule each charge records

- ``fee_rules``: a validity period, conditions, the fee items covered, the effect and the
  legal basis of each rule (``payments.fee_rules``), ``confirmed`` where its facts were checked;
- ``dossier_charges`` gains the rule that applied as it stood then (code, name, basis,
  confirmed), the schedule's amount before it and the city's support. Existing charges keep
  their amounts and get no rule: no rule recorded means the schedule.
- The catalogue's ``fee_items.online_free_from`` (Nghị quyết 77/2025 before this revision)
  becomes the rule ``NQ77-HN-TP`` over the same fee codes, so an upgraded database charges
  online dossiers as before even before ``flask seed`` loads the full set of rules.

Only new tables and added columns (no table rebuild on SQLite).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:30:00
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    rules = op.create_table('fee_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_en', sa.String(length=300), nullable=True),
    sa.Column('effect', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('percent', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('ground', sa.String(length=30), nullable=True),
    sa.Column('child_under_14', sa.Boolean(), nullable=True),
    sa.Column('vneid_level2', sa.Boolean(), nullable=True),
    sa.Column('field', sa.String(length=30), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=True),
    sa.Column('fee_codes', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint("effect IN ('exempt', 'fixed', 'percent', 'city_support')", name=op.f('ck_fee_rules_effect')),
    sa.CheckConstraint('amount IS NULL OR amount >= 0', name=op.f('ck_fee_rules_amount')),
    sa.CheckConstraint('percent IS NULL OR (percent > 0 AND percent <= 100)', name=op.f('ck_fee_rules_percent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_rules')),
    sa.UniqueConstraint('code', name=op.f('uq_fee_rules_code'))
    )
    op.add_column('dossier_charges', sa.Column('rule_code', sa.String(length=40), nullable=True))
    op.add_column('dossier_charges', sa.Column('rule_name', sa.Text(), nullable=True))
    op.add_column('dossier_charges', sa.Column('rule_basis', sa.Text(), nullable=True))
    op.add_column('dossier_charges', sa.Column('rule_confirmed', sa.Boolean(), nullable=True))
    op.add_column('dossier_charges', sa.Column('schedule_amount', sa.BigInteger(), nullable=True))
    op.add_column('dossier_charges', sa.Column('city_support', sa.BigInteger(), nullable=False, server_default='0'))

    bind = op.get_bind()
    found = bind.execute(sa.text(
        "SELECT DISTINCT code, online_free_from FROM fee_items WHERE online_free_from IS NOT NULL")).all()
    if found:
        codes = " ".join(sorted({row[0] for row in found}))
        # SQLite hands a raw DATE back as text
        start = min(d if isinstance(d, date) else date.fromisoformat(str(d)[:10]) for _, d in found)
        op.bulk_insert(rules, [{
            'code': 'NQ77-HN-TP', 'position': 0,
            'name': 'Hồ sơ trực tuyến: phí, lệ phí do HĐND thành phố quy định thu 0 đồng (trừ phí thẩm định)',
            'name_en': 'Online dossier: fees set by the City Council are 0 đồng (appraisal fees excepted)',
            'effect': 'exempt', 'amount': None, 'percent': None,
            'valid_from': start,
            'valid_to': None, 'channel': 'online', 'ground': None, 'child_under_14': None, 'vneid_level2': None,
            'field': None, 'kind': None, 'fee_codes': codes,
            'legal_basis': 'Nghị quyết 77/2025/NQ-HĐND thành phố Hà Nội', 'confirmed': True, 'active': True,
        }])


def downgrade() -> None:
    for column in ('city_support', 'schedule_amount', 'rule_confirmed', 'rule_basis', 'rule_name', 'rule_code'):
        op.drop_column('dossier_charges', column)
    op.drop_table('fee_rules')
