"""broadcasts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 02:31:01.161547
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('audience', sa.String(length=80), nullable=False),
    sa.Column('send_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_broadcasts_created_by_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcasts_send_at'), ['send_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcasts_send_at'))

    op.drop_table('broadcasts')

