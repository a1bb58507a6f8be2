"""senior check-ins

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 02:34:53.977527
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('checkins',
    sa.Column('resident_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.String(length=5), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('asked_on', sa.String(length=10), nullable=True),
    sa.Column('answered_on', sa.String(length=10), nullable=True),
    sa.Column('reminded_on', sa.String(length=10), nullable=True),
    sa.Column('escalated_on', sa.String(length=10), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_checkins_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_checkins'))
    )



def downgrade() -> None:

    op.drop_table('checkins')

