from sqlalchemy import func, select

from publisher.extensions import db
from publisher.models import Component, Incident, Role, User
from publisher.services import users


def test_create_user_without_a_prompt_when_the_password_is_given(runner):
    result = runner.invoke(
        args=[
            "herald",
            "create-user",
            "--email",
            "Ops@Example.com",
            "--name",
            "Olga Ops",
            "--role",
            "comms_manager",
            "--password",
            "a-long-enough-password",
        ]
    )
    assert result.exit_code == 0, result.output
    user = users.find_by_email("ops@example.com")
    assert user.role == Role.COMMS_MANAGER
    assert user.password_hash.startswith("$argon2")
    assert users.password_matches(user, "a-long-enough-password")
    assert not users.password_matches(user, "wrong-password!")


def test_create_user_refuses_a_duplicate_and_a_short_password_with_a_clear_message(runner):
    args = ["herald", "create-user", "--email", "a@example.com", "--name", "A", "--role", "admin"]
    assert runner.invoke(args=[*args, "--password", "0123456789"]).exit_code == 0
    duplicate = runner.invoke(args=[*args, "--password", "0123456789"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    short = runner.invoke(
        args=[*args[:2], "--email", "b@example.com", *args[4:], "--password", "short"]
    )
    assert short.exit_code != 0 and "at least 10 characters" in short.output


def test_demo_loads_a_realistic_page_into_an_empty_database_only(runner, app):
    first = runner.invoke(args=["herald", "demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert db.session.scalar(select(func.count()).select_from(Component)) == 12
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 17
    assert db.session.scalar(select(func.count()).select_from(User)) == 6
    again = runner.invoke(args=["herald", "demo", "--if-empty"])
    assert again.exit_code == 0 and "already has data" in again.output
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 17
    refused = runner.invoke(args=["herald", "demo"])
    assert refused.exit_code != 0


def test_create_token_prints_a_working_token_once(runner, app):
    users.create_user("bot@example.com", "Bot", "comms_manager", "a-long-enough-password")
    result = runner.invoke(args=["herald", "create-token", "--email", "bot@example.com"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = app.test_client().get(
        "/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_create_token_refuses_an_unknown_account(runner):
    result = runner.invoke(args=["herald", "create-token", "--email", "ghost@example.com"])
    assert result.exit_code != 0 and "No enabled account" in result.output
