"""Staff accounts: creation and password checks (argon2)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import Role, User, utcnow
from . import audit
from .errors import Conflict, InvalidInput, NotFound
from .permissions import Can, require

_hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


def create_user(email: str, name: str, role: str, password: str) -> User:
    """Create a staff account; commits."""
    email = _clean_email(email)
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise InvalidInput(_("Give a name of 1 to 200 characters."), field="name")
    role = _parse_role(role)
    _check_password(password)
    if find_by_email(email) is not None:
        raise Conflict(_("An account with that email address already exists."), field="email")
    user = User(email=email, name=name, role=role, password_hash=_hasher.hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2 parameters (tests use a cheap profile; production keeps the defaults)."""
    global _hasher
    _hasher = hasher


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


# A real hash to verify against for unknown accounts, so timing does not tell them apart.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing-parity")


def sign_in(email: str, password: str) -> User | None:
    """The account for these credentials, or None; the same work whether or not it exists."""
    user = find_by_email(email or "")
    if user is None:
        password_matches(User(password_hash=_DUMMY_HASH), password or "")
        return None
    if not password_matches(user, password or "") or not user.is_enabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def end_all_sessions(user: User) -> None:
    """Sign out everywhere: every session cookie of this account stops working."""
    user.session_generation += 1
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Change a password; every other session of the account ends."""
    if not password_matches(user, current or ""):
        raise InvalidInput(_("The current password is not right."), field="current_password")
    _check_password(new or "")
    user.password_hash = _hasher.hash(new)
    user.session_generation += 1
    audit.record(user, "user.password_changed", user)
    db.session.commit()


def update_account(
    actor: User, user: User, *, role: str | None = None, enabled: bool | None = None
) -> User:
    """An admin changes someone's role or disables the account (which ends its sessions)."""
    require(actor, Can.ADMINISTER)
    if actor.id == user.id and (enabled is False or (role and role != Role.ADMIN)):
        raise Conflict(_("You cannot disable or demote your own account."))
    before = audit.fields(user, "role", "is_enabled")
    if role is not None:
        user.role = _parse_role(role)
    if enabled is not None and enabled != user.is_enabled:
        user.is_enabled = enabled
        user.session_generation += 1
    audit.record(
        actor, "user.updated", user, before=before, after=audit.fields(user, "role", "is_enabled")
    )
    db.session.commit()
    return user


def remember_locale(user: User, locale: str) -> None:
    """Keep the language a person chose in the console: emails to them use it; commits."""
    if user.locale != locale:
        user.locale = locale
        db.session.commit()


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.name, User.id)))


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("There is no such account."))
    return user


def _parse_role(role: str) -> Role:
    if role not in {r.value for r in Role}:
        roles = ", ".join(Role)
        raise InvalidInput(_("Role must be one of: %(roles)s.", roles=roles), field="role")
    return Role(role)
