"""The catalogues are compiled before any test here renders a page in another language."""

from __future__ import annotations

import pytest

from ..channels.smtp_sink import running_sink
from .catalogue import TRANSLATED, compile_if_stale


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    return [compile_if_stale(locale) for locale in TRANSLATED]


@pytest.fixture
def sink(app):
    with running_sink() as server:
        app.config["SMTP"] = server.config()
        yield server
