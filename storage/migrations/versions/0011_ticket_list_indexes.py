"""ticket list indexes: by grid, assignee, grid and category; trigram text search on PostgreSQL

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 05:00:00

The staff dashboard lists tickets by state, grid, assignee and deadline, and searches their
number and description. At a district's million tickets, grid and assignee lists need their
own indexes, and a substring search (ILIKE '%…%') needs trigram indexes (pg_trgm, a trusted
extension the database owner may create). SQLite has no trigram index: its search stays a
scan, fine at a single community's size (benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM = ("ix_tickets_summary_trgm", "ix_tickets_number_trgm")


def upgrade() -> None:
    op.create_index("ix_tickets_grid_status", "tickets", ["grid", "status"])
    op.create_index("ix_tickets_assignee_status", "tickets", ["assignee_id", "status"])
    op.create_index("ix_tickets_grid_category", "tickets", ["grid", "category"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_tickets_summary_trgm ON tickets USING gin (summary gin_trgm_ops)"
        )
        op.execute(
            "CREATE INDEX ix_tickets_number_trgm ON tickets USING gin (number gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_tickets_grid_category", table_name="tickets")
    op.drop_index("ix_tickets_assignee_status", table_name="tickets")
    op.drop_index("ix_tickets_grid_status", table_name="tickets")
