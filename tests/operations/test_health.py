"""/healthz and /readyz: JSON a load balancer can act on, 503 naming what is wrong, nothing personal."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import stamp
from sqlalchemy import update

from coaching import create_app
from coaching.database import utcnow
from coaching.extensions import db
from coaching.mail.models import OutboxMessage, OutboxStatus
from tests.apps import dispose, make_test_app, require_service
from tests.factories import add_inquiry
from tests.smtp import free_port

EVERYTHING_FINE = {"database": "ok", "migrations": "ok", "outbox": "ok", "redis": "not configured"}


@pytest.fixture
def migrated(app):
    """The test app with its database marked as at the newest migration (create_all built the same schema)."""
    with app.app_context():
        stamp(revision="head")
    return app


def readiness(app) -> tuple[int, dict]:
    """/readyz's status and JSON."""
    response = app.test_client().get("/readyz")
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


def test_healthz_says_the_process_answers(client):
    """Is /healthz a 200 with {"status": "ok"}, never cached?"""
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_healthy_site_is_ready(migrated):
    """With the database up and migrated and no email overdue, is /readyz 200 with every check ok?"""
    status, body = readiness(migrated)
    assert status == 200
    assert body == {"status": "ready", "checks": EVERYTHING_FINE}


def test_readiness_shows_no_versions_or_personal_data(migrated):
    """Does /readyz leave out migration ids, software versions and anything an inquiry holds?"""
    add_inquiry(migrated, emails=(OutboxStatus.PENDING,), name="Sentinel Visitor", email="sentinel@example.org")
    text = migrated.test_client().get("/readyz").get_data(as_text=True)
    with migrated.app_context():
        from alembic.runtime.migration import MigrationContext

        with db.engine.connect() as connection:
            revisions = MigrationContext.configure(connection).get_current_heads()
    assert revisions and not any(revision in text for revision in revisions)
    assert "Sentinel" not in text and "sentinel@" not in text and "ython" not in text


def test_a_missing_sqlite_file_is_not_ready(tmp_path):
    """When the SQLite file is gone, is /readyz 503 saying so (and is no empty file made in its place)?"""
    database = tmp_path / "site.sqlite3"
    app = make_test_app(f"sqlite:///{database}", instance_path=tmp_path / "instance")
    try:
        with app.app_context():
            stamp(revision="head")
        assert readiness(app)[0] == 200
        database.unlink()
        status, body = readiness(app)
    finally:
        dispose(app)
    assert status == 503 and body["status"] == "not ready"
    assert body["checks"]["database"] == "down: the database file is missing"
    assert not database.exists()


@pytest.mark.parametrize("scheme", ["postgresql", "sqlite"])
def test_a_database_that_does_not_answer_is_not_ready(tmp_path, scheme):
    """With the database server down (nothing on its port) or unopenable, is /readyz 503 naming the database?"""
    if scheme == "postgresql":
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    else:
        folder = tmp_path / "not-a-file.sqlite3"
        folder.mkdir()  # a path that exists but can't be opened as a database
        url = f"sqlite:///{folder}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 32,
                      "COACH_EMAIL": "coach@hopefordystonia.example"}, instance_path=tmp_path / "instance")
    try:
        status, body = readiness(app)
    finally:
        with app.app_context():
            db.engine.dispose()
    assert status == 503
    assert body["checks"]["database"].startswith("down:")
    assert body["checks"]["migrations"] == "not checked"


def test_a_database_behind_the_code_is_not_ready(app):
    """Is /readyz 503 when the database has never been migrated, and when it is a migration behind?"""
    status, body = readiness(app)
    assert status == 503 and body["checks"]["migrations"] == "never migrated: run flask db upgrade"
    with app.app_context():
        scripts = ScriptDirectory(app.extensions["migrate"].directory)
        stamp(revision=scripts.get_revision("head").down_revision)
    status, body = readiness(app)
    assert status == 503 and body["checks"]["migrations"] == "behind: run flask db upgrade"


def test_email_waiting_over_an_hour_is_not_ready(migrated):
    """Is an email due 30 minutes ago still ready (a retry), and one due over an hour ago 503 (nobody delivers)?"""
    add_inquiry(migrated, emails=(OutboxStatus.PENDING,))
    for minutes, expected in ((30, 200), (61, 503)):
        with migrated.app_context():
            db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(minutes=minutes)))
            db.session.commit()
        status, body = readiness(migrated)
        assert status == expected, minutes
    assert body["checks"]["outbox"].startswith("overdue:")


def test_a_claim_left_by_a_dead_worker_is_not_ready(migrated):
    """Is a message claimed ("sending") by a worker that stopped over an hour ago counted as overdue?"""
    add_inquiry(migrated, emails=(OutboxStatus.SENDING,))
    with migrated.app_context():
        db.session.execute(update(OutboxMessage).values(claimed_until=utcnow() - timedelta(hours=2)))
        db.session.commit()
    status, body = readiness(migrated)
    assert status == 503 and body["checks"]["outbox"].startswith("overdue:")


def test_redis_down_is_not_ready(app_factory):
    """With rate limits counted in Redis and nothing answering there, is /readyz 503 naming Redis?"""
    app = app_factory(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        stamp(revision="head")
    status, body = readiness(app)
    assert status == 503 and body["checks"]["redis"] == "down: Redis did not answer"
    assert body["checks"]["database"] == "ok"


def test_redis_up_is_ready(app_factory):
    """With rate limits in a Redis that answers, is /readyz 200 with redis ok?"""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        require_service("TEST_REDIS_URL is not set, so the Redis readiness check is skipped")
    app = app_factory(RATELIMIT_STORAGE_URI=url)
    with app.app_context():
        stamp(revision="head")
    status, body = readiness(app)
    assert status == 200 and body["checks"]["redis"] == "ok"


def test_health_checks_are_never_rate_limited(app_factory):
    """Are /healthz and /readyz answered however often they are asked, even with the tightest contact limit?"""
    app = app_factory(RATELIMIT_ENABLED=True, CONTACT_RATE_LIMIT="1 per hour")
    with app.app_context():
        stamp(revision="head")
    client = app.test_client()
    answers = {client.get(path).status_code for _ in range(60) for path in ("/healthz", "/readyz")}
    assert answers == {200}


def test_a_relative_sqlite_path_is_found_in_the_instance_folder(tmp_path):
    """With the default relative SQLite path (kept in the instance folder), is a migrated site ready?"""
    app = make_test_app("sqlite:///relative.sqlite3", instance_path=tmp_path / "instance")
    try:
        with app.app_context():
            stamp(revision="head")
        status, body = readiness(app)
    finally:
        dispose(app)
    assert status == 200, body
