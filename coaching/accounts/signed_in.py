"""Who is signed in, as Flask-Login loads it on every admin request: the id and session version only."""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import UserMixin
from sqlalchemy import bindparam, select

from coaching.accounts.models import AdminUser
from coaching.extensions import db

# A Core select of one column: about a fifth of the cost of loading the whole account through the ORM.
_VERSION_OF = select(AdminUser.__table__.c.session_version).where(AdminUser.__table__.c.id == bindparam("id"))


@dataclass(frozen=True)
class SignedInAdmin(UserMixin):
    """The signed-in admin as views see her (current_user): views needing more load the AdminUser by id."""

    id: int
    session_version: int

    def get_id(self) -> str:
        """The session's user id, as AdminUser.get_id writes it."""
        return f"{self.id}:{self.session_version}"


def load_signed_in_admin(session_user_id: str) -> SignedInAdmin | None:
    """Flask-Login's user loader: "id:version", valid only while the version is current (SEC-10)."""
    user_id, _, version = session_user_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    current = db.session.execute(_VERSION_OF, {"id": int(user_id)}).scalar()
    if current is None or current != int(version):
        return None
    return SignedInAdmin(int(user_id), current)
