"""Social mentions: pull mentions and replies addressed to the organisation's accounts on X
(tweepy), Mastodon (notifications) and Bluesky (notifications) through the configured
outlets, store each once by (network, external id), and link a reply to one of our
published posts (a Delivery's external id) to that post's incident."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

import nh3
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import (
    Channel,
    ChannelKind,
    Delivery,
    FeedbackKind,
    FeedbackReport,
    FeedbackSource,
    MentionCursor,
    Message,
    TriageState,
    utcnow,
)
from .. import channel_config
from .grouping import group_for
from .text import MAX_BODY, MAX_SHORT, clean_text

log = logging.getLogger(__name__)

NETWORKS = (ChannelKind.X, ChannelKind.MASTODON, ChannelKind.BLUESKY)
PAGE = 50
PAGES = 10  # pages of PAGE one poll of X or Bluesky reads at most
BLUESKY_PAGES = PAGES


@dataclass(frozen=True)
class Mention:
    """One post addressed to us, as plain data."""

    external_id: str
    text: str
    author: str
    reply_ref: str
    in_reply_to: str | None = None
    url: str | None = None


def poll_all() -> int:
    """Poll every enabled social outlet; returns how many new mentions were stored."""
    channels = db.session.scalars(
        select(Channel).where(Channel.enabled.is_(True), Channel.kind.in_(NETWORKS))
    ).all()
    return sum(poll_channel(channel.id) for channel in channels)


def poll_channel(channel_id: int) -> int:
    channel = db.session.get(Channel, channel_id)
    cursor = db.session.get(MentionCursor, channel_id) or MentionCursor(channel_id=channel_id)
    try:
        adapter = channel_config.adapter_for(channel)
        try:
            found, newest = FETCHERS[channel.kind](adapter, cursor.cursor)
        finally:
            close = getattr(adapter, "close", None)
            if close:
                close()
    except Exception as error:  # a network's failure, whatever its kind, is recorded and logged
        cursor.last_error, cursor.polled_at = _message(error)[:2000], utcnow()
        db.session.merge(cursor)
        db.session.commit()
        log.warning("mentions from %s not pulled: %s", channel.name, _message(error))
        return 0
    stored = sum(store(channel, mention) for mention in found)
    cursor.cursor, cursor.polled_at, cursor.last_error = newest or cursor.cursor, utcnow(), None
    db.session.merge(cursor)
    db.session.commit()
    return stored


def store(channel: Channel, mention: Mention) -> bool:
    """Store a mention once (unique by network and id); True when it is new."""
    source = FeedbackSource(str(channel.kind))
    exists = select(FeedbackReport.id).where(
        FeedbackReport.source == source, FeedbackReport.external_id == mention.external_id
    )
    if db.session.scalar(exists) is not None:
        return False
    incident_id = linked_incident(channel, source, mention.in_reply_to)
    report = FeedbackReport(
        source=source,
        kind=FeedbackKind.MENTION,
        state=TriageState.LINKED if incident_id else TriageState.NEW,
        incident_id=incident_id,
        body=clean_text(mention.text, limit=10 * MAX_BODY, field="body")[:MAX_BODY],
        contact=clean_text(mention.author, limit=10 * MAX_SHORT, field="contact")[:MAX_SHORT],
        external_id=mention.external_id[:200],
        in_reply_to=(mention.in_reply_to or None) and mention.in_reply_to[:200],
        external_url=_safe_url(mention.url),
        reply_ref=mention.reply_ref[:600],
        channel_id=channel.id,
        # A public post to us asks for an answer: a reply in its thread closes the loop.
        wants_updates=True,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
            report.group_id = group_for(report)
    except IntegrityError:  # another poller stored it first
        return False
    return True


def linked_incident(channel: Channel, source: str, parent: str | None) -> int | None:
    """The incident of our post (or of a mention already linked) that this one replies to."""
    if not parent:
        return None
    ours = db.session.scalar(
        select(Message.incident_id)
        .join(Delivery, Delivery.message_id == Message.id)
        .where(
            Delivery.channel_id == channel.id,
            or_(Delivery.external_id == parent, Delivery.external_id.startswith(parent + "|")),
        )
        .limit(1)
    )
    if ours is not None:
        return ours
    return db.session.scalar(
        select(FeedbackReport.incident_id).where(
            FeedbackReport.source == source,
            FeedbackReport.external_id == parent,
            FeedbackReport.incident_id.is_not(None),
        )
    )


# ---------------------------------------------------------------- per network


def _x(adapter, cursor: str | None) -> tuple[list[Mention], str | None]:
    tweets, users, newest = _x_since(adapter.client, cursor)
    found = []
    for tweet in reversed(tweets):
        parent = next(
            (
                r["id"]
                for r in tweet.get("referenced_tweets") or []
                if r.get("type") == "replied_to"
            ),
            None,
        )
        author = users.get(tweet.get("author_id"), "")
        found.append(
            Mention(
                external_id=str(tweet["id"]),
                text=tweet.get("text", ""),
                author=author,
                reply_ref=str(tweet["id"]),
                in_reply_to=parent,
                url=f"https://x.com/{author or 'i'}/status/{tweet['id']}",
            )
        )
    return found, newest or cursor


def _x_since(client, cursor: str | None) -> tuple[list[dict], dict[str, str], str | None]:
    """The mentions newer than the cursor, newest first, following X's pages (up to PAGES):
    a busy outage can bring more than one page between two polls."""
    me = client.get_me(user_auth=True)["data"]["id"]
    tweets, users, newest, token = [], {}, None, None
    for _ in range(PAGES):
        answer = client.get_users_mentions(
            me,
            since_id=cursor,
            max_results=PAGE,
            pagination_token=token,
            expansions=["author_id"],
            tweet_fields=["referenced_tweets", "created_at"],
            user_fields=["username"],
            user_auth=True,
        )
        meta = answer.get("meta", {})
        newest = newest or meta.get("newest_id")
        tweets += answer.get("data") or []
        users |= {
            u["id"]: u.get("username", "") for u in answer.get("includes", {}).get("users", [])
        }
        token = meta.get("next_token")
        if not token:
            break
    return tweets, users, newest


def _mastodon(adapter, cursor: str | None) -> tuple[list[Mention], str | None]:
    # min_id, not since_id: the page right after the cursor, so a busy outage loses nothing
    # (since_id would give the newest page and skip what lies between).
    notes = adapter.client.notifications(types=["mention"], min_id=cursor, limit=PAGE)
    found = []
    newest = cursor
    for note in reversed(notes):  # newest first from the server: store oldest first
        newest = _max_id(newest, str(note["id"]))
        status = note.get("status")
        if not status:
            continue
        found.append(
            Mention(
                external_id=str(status["id"]),
                text=_html_text(status.get("content") or ""),
                author=status["account"]["acct"],
                reply_ref=str(status["id"]),
                in_reply_to=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
                url=status.get("url"),
            )
        )
    return found, newest


def _bluesky(adapter, cursor: str | None) -> tuple[list[Mention], str | None]:
    notes = _bluesky_since(adapter, cursor)
    found, newest = [], cursor
    for note in reversed(notes):  # newest first from the server: store oldest first
        newest = max(newest or "", note.indexed_at)
        if note.reason not in ("mention", "reply"):
            continue
        reply = getattr(note.record, "reply", None)
        rkey = note.uri.rsplit("/", 1)[-1]
        found.append(
            Mention(
                external_id=note.uri,
                text=getattr(note.record, "text", "") or "",
                author=note.author.handle,
                reply_ref=f"{note.uri}|{note.cid}",
                in_reply_to=reply.parent.uri if reply else None,
                url=f"https://bsky.app/profile/{note.author.handle}/post/{rkey}",
            )
        )
    return found, newest


def _bluesky_since(adapter, cursor: str | None) -> list:
    """The notifications indexed since the cursor, newest first, page after page (up to
    BLUESKY_PAGES): a busy outage can bring more than one page between two polls. The one at
    the cursor itself is read again (same time, maybe another post); storing skips it.
    The adapter signs in with the session kept from the last poll, not the app password."""
    notes, page = [], None
    for _ in range(BLUESKY_PAGES):
        params = {"limit": PAGE, **({"cursor": page} if page else {})}
        answer = adapter.read(adapter.client.app.bsky.notification.list_notifications, params)
        fresh = [n for n in answer.notifications if not cursor or n.indexed_at >= cursor]
        notes += fresh
        page = answer.cursor
        if not page or len(fresh) < len(answer.notifications):
            break
    return notes


FETCHERS = {ChannelKind.X: _x, ChannelKind.MASTODON: _mastodon, ChannelKind.BLUESKY: _bluesky}


def _max_id(a: str | None, b: str) -> str:
    """Snowflake-style ids compare as numbers; anything else as text."""
    if a is None:
        return b
    if a.isdigit() and b.isdigit():
        return a if int(a) >= int(b) else b
    return max(a, b)


def _html_text(content: str) -> str:
    """Mastodon sends HTML: keep the words, drop every tag, decode entities."""
    spaced = content.replace("<br>", "\n").replace("<br />", "\n").replace("</p>", "\n")
    return html.unescape(nh3.clean(spaced, tags=set()))


def _safe_url(url: str | None) -> str | None:
    if not url or len(url) > 2048 or not url.startswith(("https://", "http://")):
        return None
    return url if not any(c.isspace() for c in url) else None


def _message(error: Exception) -> str:
    return getattr(error, "message", None) or repr(error)
