"""Staff accounts: creation and password checks (argon2)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import Role, User
from .errors import Conflict, InvalidInput

_hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


def create_user(email: str, name: str, role: str, password: str) -> User:
    """Create a staff account; commits."""
    email = _clean_email(email)
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise InvalidInput(_("Give a name of 1 to 200 characters."), field="name")
    if role not in set(Role):
        roles = ", ".join(Role)
        raise InvalidInput(_("Role must be one of: %(roles)s.", roles=roles), field="role")
    _check_password(password)
    if find_by_email(email) is not None:
        raise Conflict(_("An account with that email address already exists."), field="email")
    user = User(email=email, name=name, role=Role(role), password_hash=_hasher.hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def password_matches(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not EMAIL_RE.match(email) or any(c in email for c in "\r\n"):
        raise InvalidInput(_("Enter a valid email address."), field="email")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
            field="password",
        )
