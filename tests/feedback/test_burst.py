"""A bounded burst of concurrent reports against a real HTTP server: every accepted report
is stored exactly once (run on SQLite and, with DATABASE_URL, on PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from publisher.extensions import db
from publisher.models import FeedbackReport

BURST = 200
THREADS = 16


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def test_a_burst_of_concurrent_reports_is_stored_exactly_once(app, make):
    api = make.component("API")
    incident = make.incident(components=[api])
    incident_id, incident_public_id, component_id = incident.id, incident.public_id, api.public_id
    server, thread = _serve(app)
    base = f"http://127.0.0.1:{server.server_port}"

    def submit(n: int) -> tuple[int, int]:
        with requests.Session() as session:
            if n % 2:
                url, data = f"{base}/incidents/{incident_public_id}/affected", {"answer": "yes"}
            else:
                url, data = f"{base}/report", {"component": component_id}
            data["body"] = f"burst report number {n} marker-{n:04d}"
            return n, session.post(url, data=data, timeout=60).status_code

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(submit, range(BURST)))
    finally:
        server.shutdown()
        thread.join(5)
    accepted = {n for n, status in results if status == 200}
    assert accepted == set(range(BURST)), sorted({s for _n, s in results})
    db.session.expire_all()
    bodies = db.session.scalars(select(FeedbackReport.body)).all()
    markers = [b.rsplit("marker-", 1)[1] for b in bodies]
    assert len(markers) == BURST
    assert sorted(markers) == [f"{n:04d}" for n in range(BURST)]
    linked = db.session.scalars(
        select(FeedbackReport.id).where(FeedbackReport.incident_id == incident_id)
    ).all()
    assert len(linked) == BURST // 2
