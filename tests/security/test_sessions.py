"""Sessions and tokens end when they should, and no setup or demo route exists to be found."""

from __future__ import annotations

import re

from publisher.models import Role
from publisher.services import tokens, users

from ..staff import PASSWORD, bearer, make_user, sign_in

SESSION_COOKIE = "session"
# Words that would betray an installer, a demo loader or a debug console reachable over HTTP.
SETUP_WORDS = re.compile(r"setup|install|demo|seed|bootstrap|debug|console/first|register|signup")


def stolen_cookie(client) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str):
    """A different browser presenting a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, cookie)
    return thief.get("/console/")


def test_a_copied_session_cookie_stops_working_after_sign_out(app):
    """Session replay after logout: the cookie's generation no longer matches."""
    user = make_user(Role.ADMIN)
    client = sign_in(app.test_client(), user)
    cookie = stolen_cookie(client)
    assert replay(app, cookie).status_code == 200
    client.post("/console/logout")
    response = replay(app, cookie)
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_a_copied_session_cookie_stops_working_after_a_password_change(app):
    """A thief holding an old cookie is locked out when the owner changes the password."""
    user = make_user(Role.COMMS_MANAGER)
    cookie = stolen_cookie(sign_in(app.test_client(), user))
    owner = sign_in(app.test_client(), user)
    change = {"current_password": PASSWORD, "new_password": "n3w and l0ng!"}
    changed = owner.post("/console/account/password", data=change)
    assert changed.status_code == 302
    assert replay(app, cookie).status_code == 302
    assert owner.get("/console/").status_code == 200


def test_a_disabled_accounts_cookie_and_tokens_stop_at_once(app, client):
    """A departing employee's session and API tokens: refused on the very next request."""
    admin, leaver = make_user(Role.ADMIN), make_user(Role.INCIDENT_MANAGER)
    cookie = stolen_cookie(sign_in(app.test_client(), leaver))
    headers = bearer(leaver)
    assert client.get("/api/v1/incidents", headers=headers).status_code == 200
    users.update_account(admin, leaver, enabled=False)
    assert client.get("/api/v1/incidents", headers=headers).status_code == 401
    assert replay(app, cookie).status_code == 302


def test_a_revoked_token_stops_at_once(app, client):
    """A leaked API token, revoked by its owner, is refused on the next call."""
    user = make_user(Role.ADMIN)
    row, plaintext = tokens.create_token(user, "ci")
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/incidents", headers=headers).status_code == 200
    tokens.revoke_token(user, row.id)
    assert client.get("/api/v1/incidents", headers=headers).status_code == 401


def test_a_forged_or_tampered_session_cookie_is_refused(app):
    """Cookie forgery: a session not signed with SECRET_KEY never signs anyone in."""
    user = make_user(Role.ADMIN)
    cookie = stolen_cookie(sign_in(app.test_client(), user))
    payload, _dot, signature = cookie.rpartition(".")
    tampered = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert replay(app, tampered).status_code == 302
    assert replay(app, f"{user.id}:0").status_code == 302


def test_no_setup_or_demo_route_is_reachable_on_a_configured_instance(app, client):
    """Unauthenticated installers and demo loaders: none exists among the URL rules."""
    make_user(Role.ADMIN)
    suspicious = [r.rule for r in app.url_map.iter_rules() if SETUP_WORDS.search(r.rule)]
    assert suspicious == []
    for path in ["/setup", "/install", "/demo", "/console/setup", "/api/v1/setup", "/admin"]:
        assert client.get(path).status_code == 404
        assert client.post(path).status_code in (404, 405)
    assert "demo" in app.cli.commands["herald"].commands  # the demo is a CLI command only


def test_every_console_and_api_rule_needs_a_signed_in_person_or_a_token(app, client):
    """Unauthenticated admin APIs: apart from sign-in and the API's own description, nothing."""
    open_routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/console", "/api/v1")):
            continue
        url = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            refused = response.status_code in (401, 403) or (
                response.status_code == 302 and "/console/login" in response.headers["Location"]
            )
            if not refused:
                open_routes.append(f"{method} {rule.rule}")
    assert sorted(open_routes) == ["GET /api/v1/openapi.json", "GET /console/login",
                                   "POST /console/login"]  # fmt: skip
