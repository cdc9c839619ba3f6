"""Migrations: `flask db upgrade` on an empty database builds exactly the models' schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask_migrate import upgrade

from coaching import create_app
from coaching.extensions import db
from tests.apps import TEST_SECRET_KEY, dispose


def test_upgrade_on_an_empty_database_matches_the_models(database_url, tmp_path):
    """Does upgrading an empty database leave no difference between it and the models?"""
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": database_url},
                     instance_path=tmp_path)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                differences = compare_metadata(context, db.metadata)
                tables = set(sa.inspect(connection).get_table_names())
        assert differences == []
        assert {"posts", "tags", "post_tags", "post_redirects", "alembic_version"} <= tables
    finally:
        dispose(app)


def test_tests_build_the_same_schema_as_migrations(app):
    """Is the create_all() schema the tests use the one the migrations build (same tables)?"""
    with app.app_context(), db.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    assert tables == set(db.metadata.tables)
