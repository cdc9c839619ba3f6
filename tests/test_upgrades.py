"""Upgrades without loss: a database at any earlier migration, with a row in every table, keeps every row and
value when migrated to the newest (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).

The rows are made from the schema as it was at that migration (reflected), so this keeps checking new
migrations with no one writing fixtures for them; enum columns take a value the models allow.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from coaching import create_app
from coaching.extensions import db
from coaching.inquiries.database_side import UNDECLARED_TABLES
from tests.apps import TEST_SECRET_KEY, dispose

SCRIPTS = ScriptDirectory("coaching/migrations")
HEAD = SCRIPTS.get_current_head()
EARLIER = [script.revision for script in SCRIPTS.walk_revisions() if script.revision != HEAD]
MOMENT = datetime(2025, 3, 4, 5, 6, 7)
SKIPPED = {"alembic_version", *UNDECLARED_TABLES}


@pytest.fixture
def empty_app(database_url, tmp_path):
    """The app on an empty database, no tables made."""
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": database_url},
                     instance_path=tmp_path / "instance")
    yield app
    dispose(app)


def _value(table: sa.Table, column: sa.Column):
    """A value this column accepts: the model's first enum value, the referenced row's id, or one of its type."""
    model_table = db.metadata.tables.get(table.name)
    model_type = model_table.columns[column.name].type if model_table is not None and \
        column.name in model_table.columns else None
    enums = getattr(column.type, "enums", None) or getattr(model_type, "enums", None)
    if enums:
        return enums[0]
    python_type = _python_type(column.type)
    if python_type is int:
        return 1
    if python_type is bool:
        return True
    if python_type is datetime:
        return MOMENT
    if python_type is date:
        return MOMENT.date()
    if python_type is float:
        return 1.5
    if python_type is bytes:
        return b"kept"
    if python_type is dict:
        return {}
    length = getattr(column.type, "length", None) or 200
    return f"kept {table.name}.{column.name}"[:length]


def _python_type(column_type) -> type | None:
    """The Python type a column type holds, or None if it doesn't say."""
    try:
        return column_type.python_type
    except NotImplementedError:
        return None


def _fill_every_table(connection) -> dict[str, list[dict]]:
    """Insert one row into every empty table (parents first); every table's rows, by table.

    A table a migration filled itself (the content version's one row) keeps the rows it has.
    """
    metadata = sa.MetaData()
    metadata.reflect(connection)
    rows = {}
    for table in metadata.sorted_tables:
        if table.name in SKIPPED:
            continue
        if not connection.execute(sa.select(sa.func.count()).select_from(table)).scalar():
            connection.execute(table.insert().values({column.name: _value(table, column) for column in table.columns}))
        rows[table.name] = [dict(row) for row in connection.execute(sa.select(table)).mappings()]
    return rows


@pytest.mark.parametrize("earlier", EARLIER)
def test_upgrading_from_an_earlier_migration_keeps_every_row(empty_app, earlier):
    """Does a database at an earlier migration, with a row in every table, keep each row and value at the newest?"""
    with empty_app.app_context():
        config = empty_app.extensions["migrate"].migrate.get_config()
        command.upgrade(config, earlier)
        with db.engine.begin() as connection:
            inserted = _fill_every_table(connection)
        command.upgrade(config, "head")
        metadata = sa.MetaData()
        with db.engine.connect() as connection:
            metadata.reflect(connection)
            for name, rows in inserted.items():
                assert name in metadata.tables, f"{name} was dropped by the upgrade from {earlier}"
                table = metadata.tables[name]
                stored = connection.execute(sa.select(table)).mappings().all()
                assert len(stored) == len(rows), (earlier, name, len(stored))
                for before, after in zip(rows, stored, strict=True):
                    for column, value in before.items():
                        if column in table.columns:
                            assert _same(after[column], value), (earlier, name, column, after[column], value)
        command.downgrade(config, "base")  # PostgreSQL keeps its enum types otherwise


def _same(stored, inserted) -> bool:
    """Equal, reading an aware datetime as the naive UTC it was stored as."""
    if isinstance(stored, datetime) and stored.tzinfo is not None:
        stored = stored.replace(tzinfo=None)
    return stored == inserted
