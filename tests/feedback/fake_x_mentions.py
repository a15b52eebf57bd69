"""FakeX plus the two read endpoints the mentions poll uses (GET /2/users/me and
GET /2/users/:id/mentions with since_id, max_results and pagination_token), kept apart from
the shared fake."""

from __future__ import annotations

from typing import Any

from tests.channels.fake_x import Answer, FakeX, Seen

OUR_ID = "4242"


class FakeXWithMentions(FakeX):
    def __init__(self) -> None:
        super().__init__()
        self.mentions: list[dict[str, Any]] = []  # oldest first
        self.users: dict[str, str] = {}

    def mention(self, author: str, text: str, reply_to: str | None = None) -> str:
        """Someone mentions us (optionally replying to one of our tweets); returns its id."""
        author_id = self.users.setdefault(author, str(9000 + len(self.users)))
        tweet = {"id": str(1800000000000000000 + len(self.mentions)), "text": text}
        tweet["author_id"] = author_id
        if reply_to:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        self.mentions.append(tweet)
        return tweet["id"]

    def route(self, seen: Seen) -> Answer:
        if seen.method != "GET":
            return super().route(seen)
        if not seen.headers.get("authorization", "").startswith("OAuth "):
            return 401, {}, self.error(401)
        if seen.path == "/2/users/me":
            return 200, {}, {"data": {"id": OUR_ID, "username": "herald", "name": "Herald"}}
        if seen.path == f"/2/users/{OUR_ID}/mentions":
            return 200, {}, self._mentions(seen.query)
        return 404, {}, self.error(404)

    def _mentions(self, query: dict[str, str]) -> dict[str, Any]:
        since_id = query.get("since_id")
        newer = [t for t in self.mentions if not since_id or int(t["id"]) > int(since_id)]
        newer.reverse()  # X answers newest first, one page at a time
        if not newer:
            return {"meta": {"result_count": 0}}
        start = int(query.get("pagination_token") or 0)
        size = int(query.get("max_results") or 100)
        page = newer[start : start + size]
        users = [{"id": i, "username": name} for name, i in self.users.items()]
        meta = {"result_count": len(page), "newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if start + size < len(newer):
            meta["next_token"] = str(start + size)
        return {"data": page, "includes": {"users": users}, "meta": meta}
