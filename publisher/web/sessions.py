"""Flask-Login glue: a session names the account and its session generation.

Bumping User.session_generation (sign-out, password change, disabling) makes
every older session cookie of that account stop matching.
"""

from __future__ import annotations

from flask import Flask, session
from flask_login import UserMixin, login_user, logout_user

from ..extensions import db, login_manager
from ..models import User


class SessionUser(UserMixin):
    def __init__(self, account: User):
        self.account = account

    def get_id(self) -> str:
        return f"{self.account.id}:{self.account.session_generation}"

    @property
    def is_active(self) -> bool:
        return self.account.is_enabled


def init_app(app: Flask) -> None:
    login_manager.login_view = "console.login"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)


def load_user(session_id: str) -> SessionUser | None:
    user_id, _sep, generation = session_id.partition(":")
    if not user_id.isdigit() or not generation.isdigit():
        return None
    # Always the row as it is now: a disabled account or a new generation ends sessions at once.
    account = db.session.get(User, int(user_id), populate_existing=True)
    if account is None or not account.is_enabled:
        return None
    if account.session_generation != int(generation):
        return None
    return SessionUser(account)


def start_session(account: User) -> None:
    """A fresh session at sign-in (no fixation): clear, then log in."""
    session.clear()
    login_user(SessionUser(account))


def end_session() -> None:
    logout_user()
    session.clear()
