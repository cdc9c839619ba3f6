"""Migrations: on an empty database they build exactly the models' schema, and undo it cleanly.

Nothing here calls create_all(): the tables are made by coaching/migrations alone, then compared with
the models the way `flask db migrate` would compare them (alembic's autogenerate).
"""

from __future__ import annotations

from pprint import pformat

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from coaching import create_app
from coaching.extensions import db
from tests.apps import TEST_SECRET_KEY, dispose


@pytest.fixture
def empty_app(database_url, tmp_path):
    """The app on an empty database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), no tables made."""
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": database_url},
                     instance_path=tmp_path / "instance")
    yield app
    dispose(app)


def alembic_config() -> Config:
    """The app's own migrations config (Flask-Migrate's, directory coaching/migrations), for alembic's commands.

    alembic's commands rather than flask_migrate.upgrade(): Flask-Migrate turns a failed command into
    sys.exit(1), which would hide the reason from the test report.
    """
    return current_app.extensions["migrate"].migrate.get_config()


def schema_differences() -> list:
    """What autogenerate finds between the database and the models, and the enum values it cannot see: [] if none.

    The models are all imported by create_app(), so a table the migrations make that no model declares
    shows up here too (as remove_table), as does one a model declares that no migration makes (add_table).
    """
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, db.metadata)
        if connection.dialect.name == "postgresql":
            differences += enum_value_differences(connection)
    return differences


def enum_value_differences(connection) -> list:
    """PostgreSQL enum types whose values are not the models' (autogenerate never compares enum values).

    SQLite stores these columns as plain strings, so there is nothing to compare there.
    """
    stored = {enum["name"]: set(enum["labels"]) for enum in sa.inspect(connection).get_enums()}
    declared = {
        column.type.name: set(column.type.enums)
        for table in db.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, sa.Enum)
    }
    return [
        ("enum_values", name, sorted(stored.get(name, ())), sorted(values))
        for name, values in sorted(declared.items())
        if stored.get(name) != values
    ]


def revision_and_leftovers() -> tuple[str | None, set[str], set[str]]:
    """The database's current revision, its tables other than alembic_version, and its enum types (PostgreSQL)."""
    with db.engine.connect() as connection:
        inspector = sa.inspect(connection)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        enums = {enum["name"] for enum in inspector.get_enums()} if connection.dialect.name == "postgresql" else set()
        return MigrationContext.configure(connection).get_current_revision(), tables, enums


def assert_matches_the_models() -> None:
    """Fail, listing every difference (what autogenerate would write into a new migration)."""
    differences = schema_differences()
    assert not differences, "the migrations and the models differ:\n" + pformat(differences)


def test_upgrade_on_an_empty_database_matches_the_models(empty_app):
    """Does upgrading an empty database to head build exactly the models' schema (types, defaults, enum values)?"""
    with empty_app.app_context():
        config = alembic_config()
        command.upgrade(config, "head")
        revision, tables, _enums = revision_and_leftovers()
        assert revision == ScriptDirectory.from_config(config).get_current_head()
        assert tables == set(db.metadata.tables)
        assert_matches_the_models()


def test_downgrade_to_base_and_upgrade_again_on_an_empty_database(empty_app):
    """Does a downgrade to base leave the database empty, and does upgrading again still match the models?"""
    with empty_app.app_context():
        config = alembic_config()
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        revision, tables, enums = revision_and_leftovers()
        assert revision is None
        assert not tables, f"downgrade to base left tables behind: {sorted(tables)}"
        assert not enums, f"downgrade to base left enum types behind (upgrading again would fail): {sorted(enums)}"
        command.upgrade(config, "head")
        assert revision_and_leftovers()[0] == ScriptDirectory.from_config(config).get_current_head()
        assert_matches_the_models()
