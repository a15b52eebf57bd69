"""What the X and Bluesky outlets do alike, each against its own fake server: a server that
cannot be reached is worth retrying; an inside address is refused before connecting, and so
is the local fake without allow_loopback, even when the URL check is fooled (the connection
itself is checked)."""

from __future__ import annotations

import pytest

from publisher.channels import PermanentChannelError, TransientChannelError
from publisher.channels import http as channel_http

from ..corpus import lines
from .social import NETWORKS, OUTLETS, post, serving


@pytest.fixture(params=NETWORKS)
def outlet(request):
    """(the network's fake server, running; how its outlet is built against a URL)."""
    fake_class, build = OUTLETS[request.param]
    for fake in serving(fake_class()):
        yield fake, build


def test_an_unreachable_server_is_transient(outlet):
    fake, build = outlet
    channel = build(fake.url)
    fake.stop()
    with pytest.raises(TransientChannelError):
        post(channel, "Investigating")


@pytest.mark.parametrize("url", lines("ssrf_urls.txt"))
@pytest.mark.parametrize("network", NETWORKS)
def test_an_inside_address_as_the_server_url_is_refused(network, url):
    _fake_class, build = OUTLETS[network]
    with pytest.raises(PermanentChannelError):
        post(build(url, allow_loopback=False), "Investigating")


def test_the_local_fake_itself_is_refused_without_allow_loopback(outlet):
    fake, build = outlet
    with pytest.raises(PermanentChannelError):
        post(build(fake.url, allow_loopback=False), "Investigating")
    assert fake.requests == []


def test_the_connection_itself_is_guarded_when_the_url_check_is_fooled(outlet, monkeypatch):
    fake, build = outlet
    monkeypatch.setattr(channel_http, "check_url", lambda url, allow_loopback=False: url)
    with pytest.raises(PermanentChannelError, match="refused to connect"):
        post(build(fake.url, allow_loopback=False), "Investigating")
    assert fake.requests == []
