"""Fixtures for /api/v1 tests: staff accounts with tokens calling the API as a script would."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from publisher.services import tokens, users

PASSWORD = "correct horse battery"


class Caller:
    """One staff account with a token, making JSON calls as a script would.

    Each call runs in its own app context, so it gets its own database session that
    ends with the request, as in production (the test's session would otherwise be shared).
    """

    def __init__(self, client, user, token: str):
        self.client, self.user, self.token = client, user, token

    def __call__(self, method: str, path: str, json=None, data=None, token: str | None = None):
        headers = {"Authorization": f"Bearer {token or self.token}"}
        with self.client.application.app_context():
            return self.client.open(
                "/api/v1" + path, method=method, json=json, data=data, headers=headers
            )

    def declare(self, component, **fields) -> dict:
        """Declare an incident with one component in partial outage; its JSON."""
        body = {
            "name": "Elevated API errors",
            "impact": "major",
            "components": [{"id": component.public_id, "status": "partial_outage"}],
        } | fields
        response = self("POST", "/incidents", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def login(app, client, monkeypatch):
    """`login(role)`: a Caller for a fresh account with that global role."""
    # Passwords play no part here; a cheap hash keeps account creation fast.
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    made = {}

    def make_caller(role: str, name: str | None = None) -> Caller:
        name = name or role
        if name not in made:
            user = users.create_user(f"{name}@example.test", name.title(), role, PASSWORD)
            made[name] = Caller(client, user, tokens.create_token(user, "test")[1])
        return made[name]

    return make_caller


@pytest.fixture
def api_component(make):
    return make.component("API")
