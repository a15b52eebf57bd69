"""Staff accounts and signed-in clients for console and API tests."""

from __future__ import annotations

from publisher.models import Role, User
from publisher.services import tokens, users

PASSWORD = "correct horse battery"

# Short names for the access tables (tests/web/test_access_matrix.py, tests/api/access_table.py).
A, IM, CM, SL, SA, R = (Role.ADMIN, Role.INCIDENT_MANAGER, Role.COMMS_MANAGER,
                        Role.SOCIAL_LEAD, Role.SUPPORT_AGENT, Role.RESPONDER)  # fmt: skip
EVERYONE = "anyone"
STAFF = {A, IM, CM, SL, SA, R}
RESPONDERS = {A, IM, CM}


def make_user(role: Role | str, email: str | None = None, name: str | None = None) -> User:
    role = Role(role)
    return users.create_user(
        email or f"{role.value}@example.com",
        name or role.value.replace("_", " ").title(),
        role,
        PASSWORD,
    )


def sign_in(client, user: User, password: str = PASSWORD):
    response = client.post("/console/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def bearer(user: User) -> dict[str, str]:
    _row, plaintext = tokens.create_token(user, "tests")
    return {"Authorization": f"Bearer {plaintext}"}
