"""/healthz (the process answers) and /readyz (it can do its work), for a load balancer or a monitor.

Both answer JSON with no personal data and no versions, are never cached (no-store) and never
rate-limited. /readyz says 503 when any of its checks fails, naming which, so a load balancer takes
the server out of rotation and an operator knows where to look:

- database: answers a query within READY_TIMEOUT_SECONDS (a SQLite file that is missing counts as down,
  rather than being created empty by the check);
- migrations: the database is at the newest migration (the code would fail on columns it lacks);
- outbox: no email has waited more than OVERDUE_AFTER past its send time (nobody is delivering);
- redis: answers a PING within READY_TIMEOUT_SECONDS, when rate limits are counted in Redis.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import and_, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from coaching.database import utcnow
from coaching.extensions import db
from coaching.mail.models import WAITING_SQL, OutboxMessage, OutboxStatus
from coaching.web.security import no_store

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 1
OVERDUE_AFTER = timedelta(hours=1)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers requests."""
    return _answer({"status": "ok"}, 200)


@bp.get("/readyz")
def readyz():
    """Readiness: the database, migrations, outbox and (when configured) Redis, each "ok" or what is wrong."""
    checks = {"database": _database(), "migrations": "not checked", "outbox": "not checked", "redis": _redis()}
    if checks["database"] == "ok":
        checks["migrations"], checks["outbox"] = _migrations(), _outbox()
    ready = all(value in ("ok", "not configured") for value in checks.values())
    if not ready:
        log.warning("not ready: %s", ", ".join(f"{name} {value}" for name, value in checks.items()
                                               if value not in ("ok", "not configured")))
    return _answer({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)


def _answer(body: dict, status: int):
    """JSON, never stored by any cache."""
    response = jsonify(body)
    response.status_code = status
    no_store(response)
    return response


def _database() -> str:
    """"ok" when the database answers a query in time; otherwise what is wrong, in a few words."""
    url = db.engine.url  # as Flask-SQLAlchemy resolved it: a relative SQLite path lives in the instance folder
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).is_file():
        return "down: the database file is missing"
    try:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"SET LOCAL statement_timeout = {READY_TIMEOUT_SECONDS * 1000}"))
        db.session.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as error:
        log.warning("readiness: the database did not answer (%s)", type(error).__name__)
        return "down: the database did not answer"
    finally:
        db.session.rollback()


def _migrations() -> str:
    """"ok" when the database is at the newest migration."""
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        return "unknown: the migration table could not be read"
    if current == _heads():
        return "ok"
    return "behind: run flask db upgrade" if current else "never migrated: run flask db upgrade"


def _heads() -> set[str]:
    """The newest migration(s) in the code, read once per process."""
    heads = current_app.extensions.get("coaching.migration_heads")
    if heads is None:
        heads = current_app.extensions["coaching.migration_heads"] = set(
            ScriptDirectory(current_app.extensions["migrate"].directory).get_heads())
    return heads


def _outbox() -> str:
    """"ok" unless an email is overdue by more than OVERDUE_AFTER (pending, or claimed by a worker that died)."""
    cutoff = utcnow() - OVERDUE_AFTER
    waiting = text(WAITING_SQL)  # literal, so the partial index serves it (see mail/outbox.py _due)
    try:
        overdue = db.session.scalar(select(OutboxMessage.id).where(waiting, or_(
            and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at < cutoff),
            and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < cutoff),
        )).limit(1))
    except SQLAlchemyError:
        db.session.rollback()
        return "unknown: the outbox could not be read"
    return "ok" if overdue is None else "overdue: email has waited over an hour (is `flask outbox run` running?)"


def _redis() -> str:
    """"ok" when the rate limits' Redis answers a PING in time; "not configured" without one."""
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if not uri.startswith(("redis://", "rediss://")):
        return "not configured"
    try:
        import redis
    except ImportError:
        return "down: the redis package is not installed (pip install '.[redis]')"
    try:
        client = redis.Redis.from_url(uri, socket_timeout=READY_TIMEOUT_SECONDS,
                                      socket_connect_timeout=READY_TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        log.warning("readiness: Redis did not answer (%s)", type(error).__name__)
        return "down: Redis did not answer"
    return "ok"


def init_app(app: Flask) -> None:
    """Register /healthz and /readyz."""
    app.register_blueprint(bp)
