"""complaint lifecycle

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 01:48:38.078639
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('ticket_supporters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_ticket_supporters_resident_id_residents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_supporters_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_supporters')),
    sa.UniqueConstraint('ticket_id', 'resident_id', name=op.f('uq_ticket_supporters_ticket_id_resident_id'))
    )
    with op.batch_alter_table('ticket_supporters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_supporters_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('building', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('survey', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('reopen_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('escalation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('assigned_at', storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', storage.models.UTCDateTime(), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('escalation')
        batch_op.drop_column('reopen_count')
        batch_op.drop_column('survey')
        batch_op.drop_column('building')

    with op.batch_alter_table('ticket_supporters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_supporters_ticket_id'))

    op.drop_table('ticket_supporters')

