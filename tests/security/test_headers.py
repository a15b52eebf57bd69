"""Security headers on every kind of response: pages, console, API, static files, errors."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from publisher.models import Role

from ..staff import bearer, make_user, sign_in

PUBLIC = ["/", "/history", "/history.atom", "/api/v2/summary.json", "/badge.svg", "/subscribe"]
ERRORS = {"/no/such/page": 404, "/api/v2/nothing.json": 404, "/history?page=x": 404}


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.nonces: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.nonces.append(dict(attrs).get("nonce"))


def script_nonces(html: str) -> list[str | None]:
    parser = _Scripts()
    parser.feed(html)
    return parser.nonces


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def assert_secure_headers(response) -> None:
    csp = directives(response)
    assert re.fullmatch(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{22,}'", csp["script-src"])
    assert csp["object-src"] == "object-src 'none'"
    assert csp["base-uri"] == "base-uri 'none'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Subscription pages carry per-subscriber links: they send no referrer at all.
    assert response.headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "no-referrer")
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.fixture
def page(make):
    api = make.component("API")
    return make.incident(components=[api])


@pytest.mark.parametrize("path", PUBLIC)
def test_every_public_response_carries_the_security_headers(client, page, path):
    """Clickjacking, MIME sniffing and injected scripts on public pages, feeds, JSON, badges."""
    response = client.get(path)
    assert response.status_code == 200
    assert_secure_headers(response)


def test_console_api_static_and_error_responses_carry_them_too(app, client, page):
    """The same protections on the staff console, /api/v1, static files and error pages."""
    user = make_user(Role.ADMIN)
    console = sign_in(app.test_client(), user)
    responses = [
        console.get("/console/"),
        console.get(f"/console/incidents/{page.public_id}"),
        client.get("/console/login"),
        client.get("/api/v1/incidents", headers=bearer(user)),
        client.get("/api/v1/incidents"),  # 401
        client.get("/api/v1/openapi.json"),
        client.get("/static/css/herald.css"),
        client.get("/static/js/localtime.js"),
        client.delete("/"),  # 405
        client.post("/api/v1/incidents", data="{not json", headers=bearer(user)),  # 400
    ]
    responses += [client.get(path) for path in ERRORS]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 401, 200, 200, 200, 405,
                                                  400, *ERRORS.values()]  # fmt: skip
    for response in responses:
        assert_secure_headers(response)


def test_every_script_tag_carries_this_responses_nonce(app, client, page):
    """An injected <script> without the nonce never runs; Herald's own scripts carry it."""
    for path in ["/", f"/incidents/{page.public_id}", "/history", "/subscribe"]:
        response = client.get(path)
        nonce = directives(response)["script-src"].split("'nonce-")[1].rstrip("'")
        found = script_nonces(response.get_data(as_text=True))
        assert found, f"{path} has no script to check"
        assert found == [nonce] * len(found), path


def test_a_cached_page_is_served_with_a_fresh_nonce_that_matches_its_header(client, page):
    """A nonce seen once (in a cached copy) is never valid again: each answer gets its own."""
    first, second = client.get("/"), client.get("/")
    nonces = []
    for response in (first, second):
        nonce = directives(response)["script-src"].split("'nonce-")[1].rstrip("'")
        found = script_nonces(response.get_data(as_text=True))
        assert found and found == [nonce] * len(found)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    assert first.headers["ETag"] == second.headers["ETag"]  # still the same cached render


def test_hsts_is_sent_over_https_only(client, page):
    """Downgrade to plain HTTP: browsers are told to insist on HTTPS, but only over HTTPS."""
    secure = client.get("/", base_url="https://status.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_behind_a_trusted_proxy_the_forwarded_scheme_turns_hsts_on(make):
    """A TLS-terminating proxy: X-Forwarded-Proto is believed only when TRUSTED_PROXIES says so."""
    from publisher import create_app

    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    for proxies, expected in ((1, True), (0, False)):
        app = create_app({"TESTING": True, "TRUSTED_PROXIES": proxies,
                          "SQLALCHEMY_DATABASE_URI": _same_database()})  # fmt: skip
        with app.app_context():
            response = app.test_client().get("/static/css/herald.css", headers=forwarded)
        assert ("Strict-Transport-Security" in response.headers) is expected


def _same_database() -> str:
    from flask import current_app

    return current_app.config["SQLALCHEMY_DATABASE_URI"]


@pytest.mark.parametrize("value", ["yes", "-1", "11"])
def test_a_bad_trusted_proxies_setting_fails_at_start(tmp_path, value):
    """A mistyped proxy count must not silently trust (or ignore) forwarded headers."""
    from publisher.config import ConfigError, load_config

    with pytest.raises(ConfigError) as raised:
        load_config({"TRUSTED_PROXIES": value}, tmp_path)
    assert raised.value.variable == "TRUSTED_PROXIES"
