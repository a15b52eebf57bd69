"""X (Twitter) through tweepy: one thread per incident, replies by tweet id.

tweepy hard-codes https://api.twitter.com, so every request goes through a
requests adapter that sends it to the configured base URL (a local fake in
tests) over the SSRF-guarded session. X has no idempotency key; it refuses
the same text twice with a 403, which means the post is already out.
"""

from __future__ import annotations

import time
from typing import Any

import requests
import tweepy
from flask_babel import lazy_gettext as _l
from requests.adapters import HTTPAdapter

from . import net, register
from .base import (
    AmbiguousChannelError,
    ChannelError,
    OutgoingUpdate,
    Payload,
    PermanentChannelError,
    Receipt,
    Setting,
    TransientChannelError,
)
from .http import check_target, not_sent

TWEEPY_HOST = "https://api.twitter.com"
DEFAULT_API = "https://api.twitter.com"
SECRETS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
# What X says (v2 detail, v1.1 code 187) when the same text was already posted.
DUPLICATE_MARKERS = ("duplicate content", "status is a duplicate")
DUPLICATE_CODE = 187


@register
class XChannel:
    kind = "x"
    idempotent = False
    fan_out = False
    settings_schema = (
        Setting("account", _l("Account name"), help=_l("Without the @; used for post links.")),
        Setting(
            "api_base_url",
            _l("API base URL"),
            required=False,
            kind="url",
            default=DEFAULT_API,
            help=_l("Leave as is unless you route X through a proxy."),
        ),
        Setting("consumer_key", _l("API key"), secret=True),
        Setting("consumer_secret", _l("API key secret"), secret=True),
        Setting("access_token", _l("Access token"), secret=True),
        Setting("access_token_secret", _l("Access token secret"), secret=True),
    )

    def __init__(self, settings: dict[str, Any], secrets: dict[str, str], **options: Any):
        missing = [name for name in SECRETS if not secrets.get(name)]
        if missing or not settings.get("account"):
            raise PermanentChannelError(f"X is not configured: missing {missing or ['account']}")
        self.account = settings["account"].lstrip("@")
        self.base_url = (settings.get("api_base_url") or DEFAULT_API).rstrip("/")
        self.allow_loopback = bool(options.get("allow_loopback", False))
        self.client = tweepy.Client(**{name: secrets[name] for name in SECRETS}, return_type=dict)
        self.client.session = _session(self.base_url, self.allow_loopback, options)
        self._url_checked = False

    def render(self, update: OutgoingUpdate) -> Payload:
        text = update.variants["x"]
        reply_to = update.revises if update.is_correction and update.revises else update.reply_to
        return Payload(data={"text": text, "reply_to": reply_to}, preview=text)

    def send(self, payload: Payload, idempotency_key: str) -> Receipt:
        if not self._url_checked:  # once per batch; each connection is checked anyway
            check_target(self.base_url, self.allow_loopback)
            self._url_checked = True
        try:
            answer = self.client.create_tweet(
                text=payload.data["text"], in_reply_to_tweet_id=payload.data["reply_to"]
            )
            tweet_id = str(answer["data"]["id"])
        except tweepy.Forbidden as error:
            if _is_duplicate(error):
                return Receipt(duplicate=True)
            raise PermanentChannelError(f"X refused the post: {error}") from error
        except (tweepy.TweepyException, requests.RequestException, net.UnsafeURLError) as error:
            raise _failure(error) from error
        except (KeyError, TypeError) as error:  # a 2xx without a tweet id: it may be posted
            raise AmbiguousChannelError(f"X answered without a post id: {error!r}") from error
        return Receipt(external_id=tweet_id, url=f"https://x.com/{self.account}/status/{tweet_id}")

    def close(self) -> None:
        self.client.session.close()


class _Rehost(HTTPAdapter):
    """Sends tweepy's api.twitter.com requests to the configured base URL, through the guard."""

    def __init__(self, base_url: str, inner: HTTPAdapter, timeout: Any):
        super().__init__()
        self._base_url, self._inner, self._timeout = base_url, inner, timeout

    def send(self, request, **kwargs):
        request.url = self._base_url + request.url[len(TWEEPY_HOST) :]
        kwargs["timeout"] = self._timeout  # tweepy sets none: never wait forever
        return self._inner.send(request, **kwargs)

    def close(self) -> None:
        self._inner.close()


def _session(base_url: str, allow_loopback: bool, options: dict[str, Any]) -> requests.Session:
    session = net.guarded_session(allow_loopback)
    timeout = options.get("timeout") or net.DEFAULT_TIMEOUT
    guarded = session.get_adapter("https://")
    session.mount(TWEEPY_HOST + "/", _Rehost(base_url, guarded, timeout))
    return session


def _is_duplicate(error: tweepy.HTTPException) -> bool:
    said = " ".join(str(message) for message in error.api_messages).lower()
    return DUPLICATE_CODE in error.api_codes or any(m in said for m in DUPLICATE_MARKERS)


def _failure(error: Exception) -> ChannelError:
    if isinstance(error, tweepy.TooManyRequests):
        return TransientChannelError(f"X rate limit: {error}", _retry_after(error))
    if isinstance(error, tweepy.TwitterServerError):
        return TransientChannelError(f"X server error: {error}")
    if isinstance(error, tweepy.HTTPException):
        return PermanentChannelError(f"X refused the post: {error}")
    if isinstance(error, requests.ConnectionError) and not_sent(error):
        return TransientChannelError(f"could not reach X: {error}")
    if isinstance(error, (net.UnsafeURLError, requests.TooManyRedirects, requests.URLRequired)):
        return PermanentChannelError(f"refused to connect to X: {error!r}")
    # A timeout or a broken answer after the request went out: X may have the post.
    return AmbiguousChannelError(f"no clear answer from X, check the account: {error!r}")


def _retry_after(error: tweepy.TooManyRequests) -> float | None:
    headers = error.response.headers
    reset, wait = headers.get("x-rate-limit-reset", ""), headers.get("retry-after", "")
    if reset.isdigit():  # epoch seconds
        return max(0.0, int(reset) - time.time())
    return float(wait) if wait.isdigit() else None
