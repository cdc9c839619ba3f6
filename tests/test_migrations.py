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
from coaching.inquiries.database_side import UNDECLARED_INDEXES, UNDECLARED_TABLES, declared_by_models
from tests.apps import TEST_SECRET_KEY, dispose, make_test_app, reset_postgres


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
            connection, opts={"compare_type": True, "compare_server_default": True,
                              "include_name": declared_by_models}  # as env.py: the search index is raw DDL
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
    """The database's current revision, its tables other than alembic_version, and its enum types, functions and
    extensions (PostgreSQL; plpgsql is always there)."""
    with db.engine.connect() as connection:
        inspector = sa.inspect(connection)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        types = set()
        if connection.dialect.name == "postgresql":
            types = {enum["name"] for enum in inspector.get_enums()}
            types |= {f"function {name}" for name in connection.scalars(sa.text(
                "SELECT proname FROM pg_proc JOIN pg_namespace ON pg_namespace.oid = pronamespace "
                "WHERE nspname = 'public' AND NOT EXISTS (SELECT FROM pg_depend WHERE objid = pg_proc.oid "
                "AND deptype = 'e')"))}
            types |= {f"extension {name}" for name in connection.scalars(sa.text(
                "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'"))}
        return MigrationContext.configure(connection).get_current_revision(), tables, types


def database_side_objects() -> dict[str, str]:
    """What no model declares but the database holds for the inbox (database_side.py): each one's definition.

    SQLite: the triggers and the search table, as sqlite_master keeps their SQL. PostgreSQL: the triggers,
    functions (not an extension's), extensions and the trigram indexes, as the catalogue writes them.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.execute(sa.text(
                "SELECT type || ' ' || name, sql FROM sqlite_master WHERE type = 'trigger' OR name IN "
                f"({', '.join(repr(name) for name in sorted(UNDECLARED_TABLES))})"))
        else:
            rows = connection.execute(sa.text(
                "SELECT 'trigger ' || tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
                "UNION ALL SELECT 'function ' || proname, pg_get_functiondef(pg_proc.oid) FROM pg_proc "
                "JOIN pg_namespace ON pg_namespace.oid = pronamespace WHERE nspname = 'public' "
                "AND NOT EXISTS (SELECT FROM pg_depend WHERE objid = pg_proc.oid AND deptype = 'e') "
                "UNION ALL SELECT 'extension ' || extname, extversion FROM pg_extension "
                "UNION ALL SELECT 'index ' || indexname, indexdef FROM pg_indexes WHERE indexname IN "
                f"({', '.join(repr(name) for name in sorted(UNDECLARED_INDEXES))})"))
        return {kind_and_name: " ".join((sql or "").split()) for kind_and_name, sql in rows}


def assert_matches_the_models() -> None:
    """Fail, listing every difference (what autogenerate would write into a new migration)."""
    differences = schema_differences()
    assert not differences, "the migrations and the models differ:\n" + pformat(differences)


def test_upgrade_on_an_empty_database_matches_the_models(empty_app):
    """Does upgrading an empty database to head build exactly the models' schema (types, defaults, enum values)?"""
    with empty_app.app_context():
        config = alembic_config()
        command.upgrade(config, "head")
        revision, tables, _types = revision_and_leftovers()
        assert revision == ScriptDirectory.from_config(config).get_current_head()
        assert tables - UNDECLARED_TABLES == set(db.metadata.tables)
        assert_matches_the_models()


def test_migrations_and_create_all_make_the_same_triggers_and_search_index(empty_app, database_url, tmp_path):
    """Do the migrations make the same triggers, search table and trigram indexes as db.create_all() (the tests')?"""
    with empty_app.app_context():
        command.upgrade(alembic_config(), "head")
        migrated = database_side_objects()
        expected_kinds = {"trigger", "table"} if db.engine.dialect.name == "sqlite" else {
            "trigger", "function", "extension", "index"}
        assert {name.split()[0] for name in migrated} == expected_kinds
    if database_url.startswith("sqlite"):  # the same database again, built by create_all()
        database_url = f"sqlite:///{tmp_path / 'created.sqlite3'}"
    else:
        dispose(empty_app)
        reset_postgres(database_url)
    built = make_test_app(database_url, instance_path=tmp_path / "instance")
    try:
        with built.app_context():
            assert database_side_objects() == migrated
    finally:
        dispose(built)


def test_downgrade_to_base_and_upgrade_again_on_an_empty_database(empty_app):
    """Does a downgrade to base leave the database empty, and does upgrading again still match the models?"""
    with empty_app.app_context():
        config = alembic_config()
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        revision, tables, types = revision_and_leftovers()
        assert revision is None
        assert not tables, f"downgrade to base left tables behind: {sorted(tables)}"
        assert not types, f"downgrade to base left types, functions or extensions behind: {sorted(types)}"
        command.upgrade(config, "head")
        assert revision_and_leftovers()[0] == ScriptDirectory.from_config(config).get_current_head()
        assert_matches_the_models()


def test_upgrading_counts_and_indexes_the_inquiries_already_stored(empty_app):
    """Does the upgrade that adds the kept counts and the search index count and index the inquiries already there?"""
    from coaching.inquiries import inbox
    from coaching.inquiries.inbox import InboxFilter

    with empty_app.app_context():
        config = alembic_config()
        command.upgrade(config, "7b1e2c9d4f30")
        with db.engine.begin() as connection:
            for number, status in enumerate(["new", "new", "read", "spam", "archived"]):
                connection.execute(sa.text(
                    "INSERT INTO inquiries (created_at, name, email, message, consent_at, privacy_notice_version, "
                    "status, submission_token) VALUES (:at, :name, 'someone@example.org', 'About my recovery.', :at, "
                    "'2026-11-25', :status, :token)"),
                    {"at": f"2026-11-0{number + 1} 10:00:00", "name": f"Émilie {number}", "status": status,
                     "token": f"token-{number}"})
        command.upgrade(config, "head")
        assert inbox.status_counts() == {"new": 2, "read": 1, "replied": 0, "archived": 1, "spam": 1, "all": 4}
        assert [item.name for item in inbox.page_of_inquiries(InboxFilter(query="ÉMILIE 2")).items] == ["Émilie 2"]
        assert len(inbox.page_of_inquiries(InboxFilter(query="recovery")).items) == 4
        db.session.remove()  # its transaction would hold a lock that the downgrade waits for (PostgreSQL)
        command.downgrade(config, "7b1e2c9d4f30")
        command.upgrade(config, "head")
        assert inbox.status_counts()["all"] == 4
