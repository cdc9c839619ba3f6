"""The bench's throwaway site: an instance folder, a SQLite database made as production makes it, and its rows.

The schema, the practice's own post and the admin account come from the commands an operator runs
(`flask db upgrade`, `flask seed`, `flask create-admin`); 49 more posts go through the same import
service as `flask seed`; the inquiries, which a real site gathers over years, are inserted in bulk.
"""

from __future__ import annotations

import random
import secrets
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from coaching.config import ROOT

POSTS = 50  # the practice's own post and 49 generated ones
INQUIRIES = 100_000
SMALL_INQUIRIES = 100  # the same pages measured first with this many
PRACTICE_POST = "/blog/psychedelics-and-neuroplasticity"
ADMIN_EMAIL = "coach@hopefordystonia.com"
TAGS = ["neuroplasticity", "research", "movement", "mindfulness", "sleep", "stories"]
WORDS = [
    "dystonia", "movement", "brain", "nervous", "system", "practice", "gentle", "breath", "recovery",
    "pattern", "habit", "attention", "calm", "body", "muscle", "signal", "rest", "walking", "hands", "voice",
    "neck", "posture", "morning", "evening", "small", "steps", "patience", "progress", "setback", "coach",
    "session", "roadmap", "journal", "sensation", "balance", "rhythm",
]
# How the inbox looks after years: mostly read and replied, some archived, new ones on top, a little spam.
STATUS_WEIGHTS = {"new": 3, "read": 37, "replied": 40, "archived": 15, "spam": 5}


def site_app_spec(instance: Path) -> str:
    """What gunicorn and `flask --app` load: app.py's create_app(), with the bench's instance folder."""
    return f"coaching:create_app(instance_path={str(instance)!r})"


def flask_command(instance: Path, environment: dict, *arguments: str, stdin: str | None = None) -> str:
    """Run a `flask` command against the bench's site, as an operator would; its output (raise on failure)."""
    completed = subprocess.run(
        [sys.executable, "-m", "flask", "--app", site_app_spec(instance), *arguments],
        cwd=ROOT, env=environment, input=stdin, capture_output=True, text=True, timeout=120,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"flask {' '.join(arguments)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def _sentence(rng: random.Random, words: int) -> str:
    """A sentence of plausible words, capitalised, with a full stop."""
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    """Three to six sentences."""
    return " ".join(_sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(3, 6)))


def write_generated_posts(folder: Path, count: int = POSTS - 1, seed: int = 11) -> None:
    """Post files in the format `flask seed` reads: headings, lists, emphasis and links, ~700 words each."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    first = datetime(2021, 1, 4, tzinfo=UTC)
    for number in range(1, count + 1):
        published = first + timedelta(days=30 * number)
        tags = rng.sample(TAGS, 2)
        sections = []
        for heading in range(3):
            sections.append(f"## {_sentence(rng, 4)[:-1]}\n\n{_paragraph(rng)}\n\n{_paragraph(rng)}")
            if heading == 1:
                sections.append("\n".join(f"- *{rng.choice(WORDS)}*: {_sentence(rng, 8)}" for _ in range(4)))
        sections.append(f"Read more on the [Recovery Roadmap](/roadmap) or **{_sentence(rng, 6)}**")
        (folder / f"practice-note-{number:02d}.md").write_text(
            "---\n"
            f"slug: practice-note-{number:02d}\n"
            f'title: "Practice note {number}: {_sentence(rng, 5)[:-1]}"\n'
            "author: Hope for Dystonia\n"
            f"published: {published:%Y-%m-%d}\n"
            f"tags: [{', '.join(tags)}]\n"
            "---\n\n" + "\n\n".join([_paragraph(rng), *sections]) + "\n",
            encoding="utf-8",
        )


def build_site(instance: Path, environment: dict) -> str:
    """Migrate, seed the practice's post, import the generated posts and create the admin; its password."""
    flask_command(instance, environment, "db", "upgrade")
    flask_command(instance, environment, "seed")
    password = secrets.token_urlsafe(18)
    flask_command(instance, environment, "create-admin", ADMIN_EMAIL, stdin=password + "\n")
    write_generated_posts(instance.parent / "posts")
    with _app(instance, environment).app_context():
        from coaching.blog.post_files import import_post_files
        from coaching.extensions import db

        import_post_files(instance.parent / "posts")
        db.session.commit()  # the import service leaves the transaction to its caller
        db.engine.dispose()
    return password


def _app(instance: Path, environment: dict):
    """The site's app in this process, on the bench's database (for the import service and bulk inserts)."""
    from coaching import create_app

    names = ("SECRET_KEY", "COACH_EMAIL", "SITE_URL", "DATABASE_URL")
    return create_app({name: environment[name] for name in names} | {"TESTING": False},
                      instance_path=instance)


def add_inquiries(instance: Path, environment: dict, total: int, seed: int = 3) -> int:
    """Bring the inquiries up to `total`, in bulk, each with its two sent emails (as intake leaves them).

    Row n is dated about 15 minutes × (INQUIRIES - n) ago, so ids rise with dates as on a real site and
    the rows added last are the newest. Returns how many there are now.
    """
    from sqlalchemy import func, insert, select

    from coaching.extensions import db
    from coaching.inquiries.models import Inquiry, InquiryStatus
    from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus

    rng = random.Random(seed)
    messages = [" ".join(_paragraph(rng) for _ in range(rng.randint(1, 3))) for _ in range(500)]
    statuses = [InquiryStatus(value) for value in STATUS_WEIGHTS]
    weights = list(STATUS_WEIGHTS.values())
    with _app(instance, environment).app_context():
        # Ids are given outright, the next after those there (none are ever deleted here), so each email
        # knows its inquiry without RETURNING, which made SQLAlchemy's bulk insert 4 times slower.
        have = db.session.scalar(select(func.count()).select_from(Inquiry))
        start = datetime.now(UTC) - timedelta(minutes=15 * INQUIRIES)
        batch = 5000
        for first in range(have, total, batch):
            numbers = range(first, min(first + batch, total))
            inquiries = []
            for number in numbers:
                created = start + timedelta(minutes=15 * number, seconds=rng.randint(0, 600))
                status = rng.choices(statuses, weights)[0]
                inquiries.append({
                    "id": number + 1, "created_at": created, "consent_at": created, "name": f"Visitor {number}",
                    "email": f"visitor{number}@mail{number % 97}.net", "phone": None, "topic": "coaching",
                    "message": rng.choice(messages),
                    "privacy_notice_version": "2026-11-25", "status": status,
                    "spam_reason": "4 links in the message" if status is InquiryStatus.SPAM else None,
                    "fill_seconds": rng.randint(20, 900), "submission_token": uuid.uuid4().hex,
                })
            db.session.execute(insert(Inquiry.__table__), inquiries)  # Core: executemany, no RETURNING
            emails = []
            for row in inquiries:
                if row["status"] is InquiryStatus.SPAM:
                    continue  # a spam inquiry's notification is held back
                for kind, recipient in ((EmailKind.COACH_NOTIFICATION, ADMIN_EMAIL),
                                        (EmailKind.VISITOR_ACKNOWLEDGEMENT, row["email"])):
                    emails.append({
                        "inquiry_id": row["id"], "kind": kind, "message_id": f"<{uuid.uuid4().hex}@bench>",
                        "recipient": recipient, "subject": f"New inquiry from {row['name']}",
                        "body_text": row["message"][:600], "status": OutboxStatus.SENT, "attempts": 1,
                        "next_attempt_at": row["created_at"], "sent_at": row["created_at"],
                        "created_at": row["created_at"],
                    })
            db.session.execute(insert(OutboxMessage.__table__), emails)
            db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(Inquiry))
        db.engine.dispose()
    return count

