"""FakeBluesky plus what the mentions poll and the closing-the-loop reply use, kept apart from
the shared fake: app.bsky.notification.listNotifications (newest first, paged by cursor, as
the AppView answers through the PDS) and com.atproto.repo.getRecord for a customer's post in
another repo (a real PDS proxies that to the AppView)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.channels.fake_bluesky import DID, HANDLE, POST, FakeBluesky
from tests.channels.fake_x import Answer, Seen

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class FakeBlueskyWithNotifications(FakeBluesky):
    def __init__(self) -> None:
        super().__init__()
        self.notifications: list[dict[str, Any]] = []  # oldest first
        self._routes[("GET", "/xrpc/app.bsky.notification.listNotifications")] = self._list
        self._routes[("GET", "/xrpc/com.atproto.repo.getRecord")] = self._get_any_record

    def customer_post(
        self, handle: str, text: str, reply_to: str | None = None, reason: str = "mention"
    ) -> str:
        """A customer posts to us (optionally replying to a post's "uri|cid"); returns its
        at:// uri. The post lands in their repo and, as a notification, in ours."""
        did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": self._at()}
        if reply_to:
            uri, _, cid = reply_to.partition("|")
            parent = {"uri": uri, "cid": cid}
            root = self._root_of(uri) or parent
            record["reply"] = {"root": root, "parent": parent}
            reason = "reply" if uri.startswith(f"at://{DID}/") else reason
        with self._lock:
            rkey = f"3lcust{len(self.posts):07d}"
            cid = (
                "bafyrei"
                + base64.b32encode(
                    hashlib.sha256(json.dumps([did, rkey, record]).encode()).digest()
                )
                .decode()
                .lower()
                .rstrip("=")[:52]
            )
            post = {"uri": f"at://{did}/{POST}/{rkey}", "cid": cid, "record": record}
            self.posts.append(post)
            self.notifications.append(
                {
                    "uri": post["uri"],
                    "cid": cid,
                    "author": {"did": did, "handle": handle},
                    "reason": reason,
                    "record": record,
                    "isRead": False,
                    "indexedAt": self._at(),
                }
            )
        return post["uri"]

    def our_post(self, text: str) -> str:
        """A post already in our repo (as the publisher would have made it): "uri|cid"."""
        with self._lock:
            rkey = f"3lours{len(self.posts):07d}"
            cid = "bafyreiours" + hashlib.sha256(rkey.encode()).hexdigest()[:40]
            record = {"$type": POST, "text": text, "createdAt": self._at()}
            self.posts.append({"uri": f"at://{DID}/{POST}/{rkey}", "cid": cid, "record": record})
        return f"at://{DID}/{POST}/{rkey}|{cid}"

    def like(self, handle: str, subject: str) -> None:
        """A notification the poll must ignore."""
        did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
        like = {"$type": "app.bsky.feed.like", "subject": {"uri": subject, "cid": "bafyx"}}
        like["createdAt"] = self._at()
        with self._lock:
            self.notifications.append(
                {
                    "uri": f"at://{did}/app.bsky.feed.like/3llike{len(self.notifications):05d}",
                    "cid": "bafyreilike",
                    "author": {"did": did, "handle": handle},
                    "reason": "like",
                    "reasonSubject": subject,
                    "record": like,
                    "isRead": False,
                    "indexedAt": self._at(),
                }
            )

    def replies_to(self, uri: str) -> list[dict[str, Any]]:
        """Our posts that reply to this one."""
        return [
            p
            for p in self.posts
            if p["uri"].startswith(f"at://{DID}/")
            and ((p["record"].get("reply") or {}).get("parent") or {}).get("uri") == uri
        ]

    def _at(self) -> str:
        """Distinct, increasing times (one second apart), as the AppView's indexedAt."""
        moment = EPOCH + timedelta(seconds=len(self.posts) + len(self.notifications))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _root_of(self, uri: str) -> dict[str, str] | None:
        for post in self.posts:
            if post["uri"] == uri:
                return (post["record"].get("reply") or {}).get("root")
        return None

    def _list(self, seen: Seen) -> Answer:
        limit = int(seen.query.get("limit") or 50)
        newest_first = list(reversed(self.notifications))
        start = int(seen.query.get("cursor") or 0)
        page = newest_first[start : start + limit]
        answer: dict[str, Any] = {"notifications": page}
        if start + limit < len(newest_first):
            answer["cursor"] = str(start + limit)
        return 200, {}, answer

    def _get_any_record(self, seen: Seen) -> Answer:
        repo, rkey = seen.query.get("repo"), seen.query.get("rkey")
        repo = DID if repo == HANDLE else repo
        uri = f"at://{repo}/{seen.query.get('collection')}/{rkey}"
        for post in self.posts:
            if post["uri"] == uri:
                return 200, {}, {"uri": uri, "cid": post["cid"], "value": post["record"]}
        return 400, {}, {"error": "RecordNotFound", "message": f"Could not locate record: {uri}"}
