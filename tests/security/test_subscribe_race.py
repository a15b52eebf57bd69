"""Many visitors (or one script) subscribing the same address at the same instant.

Real threads, each with its own app context and database session, released together
by a barrier; on SQLite by default and on PostgreSQL when DATABASE_URL points there.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from publisher.extensions import db
from publisher.models import Subscriber, SubscriberKind
from publisher.services import subscriptions
from publisher.services.errors import InvalidInput

RACERS = 6
ROUNDS = 3


def race(app, action) -> list[str]:
    db.session.close()
    gun = threading.Barrier(RACERS)

    def run(_n: int) -> str:
        with app.app_context():
            try:
                gun.wait(timeout=30)
                action()
                return "ok"
            except InvalidInput as error:
                return f"refused: {error.message}"
            except Exception as error:  # any other outcome is a failure the asserts show
                return f"{type(error).__name__}: {error}"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(run, range(RACERS)))


def stored(kind: SubscriberKind, target: str) -> int:
    db.session.expire_all()
    query = select(func.count()).select_from(Subscriber).filter_by(kind=kind, target=target)
    return db.session.scalar(query)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_same_address_subscribed_at_once_is_stored_once_and_everyone_gets_the_same_answer(
    app, round_
):
    """Duplicate rows (and a 500 for the loser) from a burst of identical subscriptions."""
    address = f"Racer{round_}@Example.com"
    outcomes = race(app, lambda: subscriptions.subscribe_email(address))
    assert outcomes == ["ok"] * RACERS  # no enumeration: each caller is told the same
    assert stored(SubscriberKind.EMAIL, address.lower()) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_same_webhook_subscribed_at_once_is_stored_once(app, round_, monkeypatch):
    """A burst of identical webhook subscriptions: one row, one secret, the rest refused."""
    monkeypatch.setattr(subscriptions, "_safe_webhook_url", lambda url: url)  # no DNS here
    url = f"https://hooks.example.com/racer/{round_}"
    outcomes = race(app, lambda: subscriptions.subscribe_webhook(url))
    assert outcomes.count("ok") == 1, outcomes
    assert all(o.startswith("refused: ") for o in outcomes if o != "ok"), outcomes
    assert stored(SubscriberKind.WEBHOOK, url) == 1
