"""stored replies of handled updates, for redeliveries

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 05:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    kind = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    with op.batch_alter_table("processed_updates") as batch:
        batch.add_column(sa.Column("replies", kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.drop_column("replies")
