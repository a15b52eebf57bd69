"""What a postmortem says: its content hash, and clean Markdown bodies."""

from __future__ import annotations

import hashlib
import json

from flask_babel import gettext as _

from ...models import Postmortem
from ..errors import InvalidInput

MAX_BODY = 100_000


def content_hash(postmortem: Postmortem) -> str:
    """A digest of both versions; an approval is bound to it."""
    content = {"internal": postmortem.internal_body, "public": postmortem.public_body}
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def clean_body(body: str | None, field: str) -> str:
    """Markdown as written, with Windows line ends made plain and a size limit."""
    body = (body or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if len(body) > MAX_BODY:
        raise InvalidInput(
            _("Keep the postmortem under %(n)d characters.", n=MAX_BODY), field=field
        )
    return body
