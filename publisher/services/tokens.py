"""API tokens for /api/v1: shown once, stored as SHA-256, acting as their owner."""

from __future__ import annotations

import hashlib
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import ApiToken, User, utcnow
from . import audit
from .errors import InvalidInput, NotFound

TOKEN_PREFIX = "hrld_"


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the row and the plaintext token, which is never shown again."""
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise InvalidInput(_("Name the token (1 to 120 characters)."), field="name")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, token_hash=_digest(plaintext), prefix=plaintext[:12]
    )
    db.session.add(token)
    audit.record(user, "token.created", token, after={"name": name, "prefix": token.prefix})
    db.session.commit()
    return token, plaintext


def revoke_token(user: User, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound(_("There is no such token."))
    token.revoked_at = utcnow()
    audit.record(user, "token.revoked", token, after={"prefix": token.prefix})
    db.session.commit()


def authenticate(plaintext: str) -> User | None:
    """The enabled owner of a live token, or None. Records when it was last used."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    token = db.session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == _digest(plaintext))
        .execution_options(populate_existing=True)
    )
    if token is None or token.revoked_at is not None:
        return None
    db.session.refresh(token.user)
    if not token.user.is_enabled:
        return None
    token.last_used_at = utcnow()
    db.session.commit()
    return token.user


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()
