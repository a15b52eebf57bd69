"""Growth benchmark: render time and SQL queries of the public URLs as the page grows.

    .venv/bin/python bench/growth.py                       # SQLite in a temp dir
    .venv/bin/python bench/growth.py --database-url postgresql+psycopg://.../herald_bench

For 10, 100 and 1,000 components and then 100, 10,000 and 100,000 past incidents
(bulk inserts), it renders each public URL with a cold cache (median of --repeat
renders) in this process, counts its SQL statements, and prints this process's
peak memory (a web worker does the same work). `/` must not grow with the number
of past incidents. Bounded: it stops adding incidents after --budget seconds.
The database named by --database-url is emptied first.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

URLS = ("/", "/api/v2/summary.json", "/history.atom", "/history", "/api/v2/incidents.json")
COMPONENTS = (10, 100, 1000)
INCIDENTS = (100, 10_000, 100_000)


def main() -> None:
    args = parse_args()
    instance = tempfile.mkdtemp(prefix="herald-growth-")
    os.environ.update(HERALD_INSTANCE_DIR=instance, LOG_LEVEL="WARNING")
    from publisher import create_app
    from publisher.extensions import db
    from publisher.models import Base

    url = args.database_url or f"sqlite:///{instance}/herald.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PUBLIC_FAST_PATH": False})
    started = time.monotonic()
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        print(f"{'components':>10} {'incidents':>9} {'URL':26} {'ms':>8} {'queries':>7}")
        components = grow_components(app, args)
        for total in INCIDENTS:
            if time.monotonic() - started > args.budget:
                print(f"stopped before {total:,} incidents: over the {args.budget} s budget")
                break
            add_incidents(total, components)
            measure_all(app, len(components), total, args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak_mb:.0f} MB")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=5, help="renders per URL (median)")
    parser.add_argument("--budget", type=int, default=600, help="seconds before stopping")
    return parser.parse_args()


def grow_components(app, args) -> list:
    from tests.factories import Factory

    make, components = Factory(), []
    for total in COMPONENTS:
        components += make.many_components(total - len(components), first_position=len(components))
        measure_all(app, total, 0, args)
    return components


def add_incidents(total: int, components: list) -> None:
    from datetime import timedelta

    from publisher.extensions import db
    from publisher.models import Incident, utcnow
    from tests.factories import Factory

    have = db.session.query(Incident).count()
    # One an hour back from the newest (100,000 reach about 11 years): many history pages.
    every, newest = timedelta(hours=1), utcnow() - timedelta(hours=2)
    for start in range(have, total, 10_000):
        count = min(10_000, total - start)
        Factory().past_incidents(
            count, newest_at=newest - every * start, every=every, components=components[:50]
        )


def measure_all(app, components: int, incidents: int, args) -> None:
    for url in URLS:
        ms, queries = measure(app, url, args.repeat)
        print(f"{components:>10} {incidents:>9} {url:26} {ms:8.1f} {queries:>7}")


def measure(app, url: str, repeat: int) -> tuple[float, int]:
    from sqlalchemy import event

    from publisher.extensions import db
    from publisher.web.public.caching import cache

    client, times, statements = app.test_client(), [], []

    def count(*_args):
        statements.append(1)

    for _ in range(repeat):
        cache.clear()
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), len(statements)


if __name__ == "__main__":
    main()
