"""risk markers of a conversation's recent messages (the crisis screen adds them up)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 21:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    kind = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("risk", kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("risk")
