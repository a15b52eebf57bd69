"""The WSGI fast path: repeated anonymous GETs answered from the cache, never stale."""

from __future__ import annotations

import re

from publisher.extensions import db
from publisher.models import IncidentStatus, utcnow
from publisher.services.updates import record_published_update
from publisher.web.public.caching import ResponseCache
from publisher.web.public.fastpath import FastPath

NONCE = re.compile(r"nonce-([A-Za-z0-9_-]+)")


def fast_path(app) -> FastPath:
    layer = app.wsgi_app
    while not isinstance(layer, FastPath):
        layer = layer.app  # a ProxyFix may wrap it
    return layer


def counting_probe(app) -> list[int]:
    probe, reads = fast_path(app).probe, []
    original = probe.read

    def read():
        reads.append(1)
        return original()

    probe.read = read
    return reads


def test_a_repeated_anonymous_get_costs_one_version_read_and_no_orm_query(
    app, client, make, count_queries
):
    make.component("API")
    first = client.get("/api/v2/summary.json")
    reads = counting_probe(app)
    with count_queries() as counter:
        again = client.get("/api/v2/summary.json")
    assert again.status_code == 200 and again.data == first.data
    assert counter.count == 0 and len(reads) == 1
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    assert again.headers["ETag"] == first.headers["ETag"]


def test_the_next_request_after_a_publish_shows_it(app, client, make):
    api = make.component("API")
    incident = make.incident(name="Checkout failing", components=[api])
    for _ in range(3):
        assert b"Found the cause." not in client.get("/api/v2/summary.json").data
    record_published_update(incident, IncidentStatus.IDENTIFIED, "Found the cause.", utcnow())
    db.session.commit()
    assert b"Found the cause." in client.get("/api/v2/summary.json").data
    assert b"Found the cause." in client.get("/").data


def test_requests_with_cookies_go_through_flask(app, client, make, count_queries):
    make.component("API")
    client.get("/api/v2/summary.json")
    client.set_cookie("lang", "en")
    with count_queries() as counter:
        assert client.get("/api/v2/summary.json").status_code == 200
    assert counter.count >= 1


def test_each_answer_gets_its_own_csp_nonce_in_header_and_body(client, make):
    make.component("API")
    nonces = []
    for _ in range(3):
        response = client.get("/")
        header = NONCE.search(response.headers["Content-Security-Policy"]).group(1)
        assert f'nonce="{header}"'.encode() in response.data
        nonces.append(header)
    assert len(set(nonces)) == 3


def test_conditional_and_head_requests_are_answered_by_the_fast_path(app, client, make):
    make.component("API")
    first = client.get("/history.atom")
    client.get("/history.atom")
    reads = counting_probe(app)
    again = client.get("/history.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    head = client.head("/history.atom")
    assert head.status_code == 200 and head.data == b""
    assert int(head.headers["Content-Length"]) == len(first.data)
    assert len(reads) == 2


def test_a_render_older_than_the_version_another_request_saw_is_not_kept():
    cache = ResponseCache()
    assert cache.get(("k",), 2) is None  # a request saw version 2
    cache.put(("k",), "rendered at version 1", 10, version=1)
    assert cache.get(("k",), 2) is None
    cache.put(("k",), "rendered at version 2", 10, version=2)
    assert cache.get(("k",), 2) == "rendered at version 2"


def test_without_a_database_the_request_goes_to_flask(app, client, make):
    make.component("API")
    client.get("/api/v2/summary.json")
    probe = fast_path(app).probe
    probe.read = lambda: None  # what a failed read returns
    response = client.get("/api/v2/summary.json")
    assert response.status_code == 200  # Flask answered (from its own cache)
