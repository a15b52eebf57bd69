"""Email to subscribers (one message each) or to an internal stakeholder list (one message).

Each message is multipart text + HTML with RFC 8058 one-click unsubscribe
headers. SMTP has no idempotency key, so a lost connection after the content
went out is ambiguous; the Message-ID is derived from the delivery's key, so a
by-hand resend carries the same id and clients that dedupe by id show it once.
No header value ever carries CR, LF or another line break: values are cleaned,
addresses with such characters are refused, and the transport checks the
serialized header block before anything is sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from contextlib import nullcontext
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, ClassVar

from flask_babel import force_locale, get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from . import register
from .base import OutgoingUpdate, Payload, PermanentChannelError, Receipt, Setting
from .smtp import SmtpTransport, envelope_sender

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
MAX_ADDRESS = 320
_LINE_BREAKING = {"Cc", "Zl", "Zp"}  # controls (CR, LF, NEL...) and U+2028/U+2029
_SPACES = re.compile(r"\s+")
_MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class UnsafeHeaderError(ValueError):
    """A value would add or break a mail header line; it is refused."""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Flask-Babel's catalogues, in the locale in force (the recipient's: see render).
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=gettext, ngettext=ngettext, newstyle=True
    )
    return env


templates = _environment()


# ---------------------------------------------------------------- header safety


def clean_header(value: Any) -> str:
    """One line fit for a header: every control and line separator becomes a space."""
    text = "".join(" " if unicodedata.category(c) in _LINE_BREAKING else c for c in str(value))
    return _SPACES.sub(" ", text).strip()


def check_address(address: Any) -> str:
    """The address unchanged if it is one plain addr-spec, else UnsafeHeaderError."""
    if not isinstance(address, str) or not 3 <= len(address) <= MAX_ADDRESS:
        raise UnsafeHeaderError("not an email address")
    if clean_header(address) != address or any(c.isspace() for c in address):
        raise UnsafeHeaderError("an email address may not contain spaces or line breaks")
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError, HeaderParseError):
        raise UnsafeHeaderError("not an email address") from None
    if parsed.addr_spec != address or not parsed.username or not parsed.domain:
        raise UnsafeHeaderError("not an email address")
    return address


def set_header(message: EmailMessage, name: str, value: str) -> None:
    """Set a header to a cleaned value, also after the parser decodes RFC 2047 words
    (`=?utf-8?q?a=0D=0A?=` decodes to a CR LF, which older Pythons then write out raw)."""
    text = clean_header(value)
    for _attempt in range(3):
        del message[name]
        message[name] = text
        decoded = str(message[name])
        if clean_header(decoded) == decoded:
            return
        text = clean_header(decoded)
    del message[name]
    message[name] = text.replace("=?", "= ?")  # give up on encoded words altogether


# ---------------------------------------------------------------- building a message


def compose(
    *,
    subject: str,
    text: str,
    html: str,
    sender: str,
    to: str,
    sender_name: str = "",
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A multipart text + HTML message with the headers every Herald mail carries."""
    message = EmailMessage()
    message["From"] = _from_address(sender, sender_name)
    message["To"] = Address(addr_spec=check_address(to))
    set_header(message, "Subject", subject)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender_domain(sender))
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        set_header(message, name, value)
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def sender_domain(sender: str) -> str:
    domain = envelope_sender(sender).rpartition("@")[2]
    return _ID_UNSAFE.sub("", domain) or "herald.invalid"


def message_id_for(key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt of one delivery."""
    local = _ID_UNSAFE.sub("-", key)[:200] or "update"
    return f"<{local}@{sender_domain(sender)}>"


def _from_address(sender: str, name: str) -> Address:
    address = check_address(envelope_sender(clean_header(sender)))
    configured = sender.partition("<")[0].strip(' "') if "<" in sender else ""
    display = clean_header(configured) or clean_header(name)
    if display == address:
        display = ""
    # The folder decodes RFC 2047 words even inside a quoted display name: never pass one on.
    return Address(display_name=display.replace("=?", "= ?"), addr_spec=address)


# ---------------------------------------------------------------- the channel


@register
class EmailChannel:
    """Subscriber email (fan-out), or one message to an internal stakeholder list."""

    kind: ClassVar[str] = "email"
    fan_out: ClassVar[bool] = True
    idempotent: ClassVar[bool] = False
    settings_schema: ClassVar[tuple[Setting, ...]] = (
        Setting(
            "recipients",
            _l("Internal recipients"),
            required=False,
            kind="list",
            help=_l("Send each update once to these addresses (Bcc) instead of to subscribers."),
        ),
    )

    def __init__(self, settings: dict[str, Any], secrets: dict[str, str], **options: Any):
        self.settings = settings or {}
        self.smtp = dict(options.get("smtp") or {})
        if options.get("timeout"):  # the channels' (connect, read), as every outlet gets
            self.smtp["timeout"] = options["timeout"]
        if not self.smtp.get("sender"):
            raise PermanentChannelError("no sender address configured (MAIL_FROM)")
        self.transport = SmtpTransport(self.smtp)

    def render(self, update: OutgoingUpdate) -> Payload:
        envelope, to = self._addressees(update)
        context = _context(update, self.settings.get("recipients") and not update.recipient)
        headers = {}
        if context["unsubscribe_url"]:
            headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        if update.reply_to and _MESSAGE_ID.fullmatch(update.reply_to):
            headers["In-Reply-To"] = headers["References"] = update.reply_to
        with _in_language(update.recipient.get("locale")):
            context["lang"] = str(get_locale() or "en")
            text = templates.get_template("update.txt").render(context)
            html = templates.get_template("update.html").render(context)
        try:
            message = compose(
                subject=update.variants.get("email_subject") or _fallback_subject(update),
                text=text,
                html=html,
                sender=self.smtp["sender"],
                sender_name=update.page_name,
                to=to,
                headers=headers,
            )
        except UnsafeHeaderError as error:
            raise PermanentChannelError(f"refused to build the email: {error}") from None
        return Payload(data={"message": message, "recipients": envelope}, preview=text)

    def send(self, payload: Payload, idempotency_key: str) -> Receipt:
        message: EmailMessage = payload.data["message"]
        del message["Message-ID"]
        message["Message-ID"] = message_id_for(idempotency_key, self.smtp["sender"])
        self.transport.send(message, payload.data["recipients"])
        return Receipt(external_id=str(message["Message-ID"]))

    def close(self) -> None:
        self.transport.close()

    def _addressees(self, update: OutgoingUpdate) -> tuple[list[str], str]:
        """(envelope recipients, To header). A stakeholder list goes in the envelope only
        (Bcc): no one on it sees the others; To shows the sender's own address."""
        try:
            if update.recipient:
                if update.recipient.get("kind", "email") != "email":
                    raise PermanentChannelError("this subscriber is not an email subscriber")
                address = check_address(update.recipient.get("address"))
                return [address], address
            listed = [check_address(a) for a in _listed(self.settings.get("recipients"))]
        except UnsafeHeaderError as error:
            raise PermanentChannelError(f"refused the recipient address: {error}") from None
        if not listed:
            raise PermanentChannelError("no recipient: no subscriber and no internal list")
        return listed, envelope_sender(self.smtp["sender"])


def _in_language(locale: str | None):
    """The recipient's language; without one (an internal list, a reporter), the locale in
    force: the default in a job, the staff member's own in a console preview."""
    return force_locale(locale) if locale else nullcontext()


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[,;\s]+", value)
    return [a.strip() for a in value or [] if isinstance(a, str) and a.strip()]


def _context(update: OutgoingUpdate, internal: bool) -> dict[str, Any]:
    recipient = update.recipient or {}
    body = update.variants.get("email_body") or update.body_markdown or ""
    return {
        "page_name": update.page_name,
        "page_url": update.page_url,
        "incident_name": update.incident_name,
        "incident_url": update.incident_url,
        "status_label": update.status_label,
        "is_correction": update.is_correction,
        "internal": bool(internal),
        "body_text": body.strip(),
        # Already rendered from Markdown with raw HTML off and cleaned with nh3.
        "body_html": Markup(update.variants.get("email_body_html") or update.body_html),
        "manage_url": recipient.get("manage_url"),
        "unsubscribe_url": recipient.get("unsubscribe_url"),
    }


def _fallback_subject(update: OutgoingUpdate) -> str:
    return f"[{update.page_name}] {update.status_label}: {update.incident_name}"
