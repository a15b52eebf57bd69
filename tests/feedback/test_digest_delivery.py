"""Digests actually delivered through a webhook target (a receiver on 127.0.0.1 that checks
the Standard Webhooks signature) and an email target (a real SMTP server on 127.0.0.1), with
hostile customer text from the shared corpus arriving harmless."""

from __future__ import annotations

import base64
import hashlib
import hmac

from publisher.channels.webhook import sign
from publisher.models import ChannelKind, DigestReason, Role, SendState, utcnow
from publisher.services.feedback import forwarding
from tests.corpus import assert_harmless_html, header_lines, lines
from tests.feedback.reports import add_quotes, digests
from tests.staff import make_user

STAFF = ["ops@example.com", "lead@example.com"]


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (Standard Webhooks v1), written independently of the sender."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.partition(",")[2] for s in headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, s) for s in offered)


def test_a_digest_reaches_a_webhook_target_signed(make, outlets, receiver):
    hook = outlets(ChannelKind.WEBHOOK, "Pager")
    added = forwarding.add_target(make_user(Role.ADMIN), hook.id, receiver.url("/hooks/feedback"))
    assert added.signing_secret.startswith("whsec_")
    incident = make.incident(name="Checkout failing")
    # Five reports (the surge minimum), each one quoted (a digest quotes the latest five).
    hostile = [*lines("xss.txt")[:4], "<!channel> *bold* [x](javascript:alert(1))"]
    add_quotes(incident, hostile)
    made = forwarding.run_due(utcnow())
    [digest] = digests()
    assert made == [digest.id] and digest.reason == DigestReason.SURGE
    assert digest.state == SendState.SENT, digest.last_error
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert request.method == "POST" and request.path == "/hooks/feedback"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == f"digest-{digest.id}"
    assert _verify(added.signing_secret, headers, request.body)
    assert not _verify("whsec_" + base64.b64encode(b"x" * 24).decode(), headers, request.body)
    payload = request.json()
    assert payload["incident"]["id"] == incident.public_id
    assert payload["incident"]["name"] == "Reports are surging: Checkout failing"
    assert payload["incident"]["shortlink"].endswith(
        f"/console/incidents/{incident.public_id}/feedback"
    )
    body = payload["incident"]["incident_updates"][0]["body"]
    assert "5 customers report being affected (5 new)." in body
    # Each quote arrives as escaped Markdown: it renders as text, never as markup or a link.
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in body
    assert "\\[x\\]\\(javascript:alert\\(1\\)\\)" in body


def test_every_webhook_target_secret_can_sign(make, outlets):
    """A target's secret is whsec_ + standard base64, or the webhook channel refuses to sign
    (url-safe base64 has - and _ in about two secrets out of three)."""
    admin = make_user(Role.ADMIN)
    for n in range(20):
        hook = outlets(ChannelKind.WEBHOOK, f"Pager {n}")
        secret = forwarding.add_target(admin, hook.id, f"http://127.0.0.1:9/{n}")
        base64.b64decode(secret.signing_secret.removeprefix("whsec_"), validate=True)
        assert sign(secret.signing_secret, "digest-1", 1, "{}").startswith("v1,")


def test_a_digest_reaches_an_email_target_harmless(make, outlets, sink):
    staff = outlets(ChannelKind.EMAIL, "Staff list", settings={"recipients": STAFF})
    forwarding.add_target(make_user(Role.ADMIN), staff.id)
    hostile_names = header_lines()
    quotes = lines("xss.txt") + lines("template.txt") + header_lines()
    for name in hostile_names:  # a name with CR/LF would reach the Subject header
        incident = make.incident(name=name)
        add_quotes(incident, [*quotes[:5], name])
    incident = make.incident(name="Every quote")
    add_quotes(incident, quotes)
    add_quotes(incident, ["{{7*7}} ${7*7} <b>bold</b>"])  # the latest: quoted in the digest
    forwarding.run_due(utcnow())
    sent = digests()
    assert len(sent) == len(hostile_names) + 1
    assert {d.state for d in sent} == {SendState.SENT}, [d.last_error for d in sent]
    assert len(sink.messages) == len(sent)
    for received in sink.messages:
        assert sorted(received.rcpt_tos) == sorted(STAFF)  # the fixed list, nobody injected
        raw_headers = received.data.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
        names = {line.split(":", 1)[0] for line in raw_headers.splitlines() if line[:1] != " "}
        assert not names & {"Bcc", "Cc", "bcc", "cc"}, raw_headers
        message = received.message
        assert message["To"] == "status@status.test"  # the list stays in the envelope (Bcc)
        subject = str(message["Subject"])
        assert "\r" not in subject and "\n" not in subject
        assert "\u2028" not in subject and "\x85" not in subject
        html = message.get_body(("html",)).get_content()
        assert_harmless_html(html)
        assert "<script" not in html.lower()
    every = next(m.message for m in sink.messages if "Every quote" in str(m.message["Subject"]))
    text = every.get_body(("plain",)).get_content()
    assert f"{len(quotes) + 1} customers report being affected" in text
    # The plain-text part shows the customer's words, not escaped Markdown.
    assert "“{{7*7}} ${7*7} <b>bold</b>” (Status page, no component)" in text
    assert "By source: Status page" in text and "\\" not in text
    html = every.get_body(("html",)).get_content()
    assert "{{7*7}} ${7*7} &lt;b&gt;bold&lt;/b&gt;" in html
