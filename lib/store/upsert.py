"""INSERT ... ON CONFLICT for the two databases db.py allows, PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def dialect_insert(connection: Connection) -> Any:
    """`insert` with ON CONFLICT support for the connection's database."""
    # INSERT ... ON CONFLICT is dialect-specific in SQLAlchemy; db.py only allows these two.
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def upsert_row(
    connection: Connection, table: sa.Table, keys: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """Insert the row `keys` + `values`, or set `values` on the row that already has `keys`.

    `keys` name the columns of a unique index or primary key of `table`.
    """
    statement = dialect_insert(connection)(table).values(**keys, **values)
    connection.execute(
        statement.on_conflict_do_update(index_elements=list(keys), set_=dict(values))
    )
