"""Growth benchmark: render time, size and SQL queries of the public URLs as the page grows.

    .venv/bin/python bench/growth.py                       # SQLite in a temp dir
    .venv/bin/python bench/growth.py --database-url postgresql+psycopg://.../herald_bench
    .venv/bin/python bench/growth.py --urls / --outages 6 --tree /tmp/herald-before

For 10, 100 and 1,000 components and then 100, 10,000 and 100,000 past incidents
(bulk inserts), it renders each public URL with a cold cache (median of --repeat
renders) in this process and prints the wall time, the CPU time of this process (steadier
than the wall time on a loaded machine), its SQL statements and the size of the answer,
then this process's peak memory (a web worker does the same work). `/` must not grow with
the number of past incidents. --outages gives each component that many short outages in
the uptime window (0: quiet components, the cheapest bars). --tree measures another copy
of Herald (an older version, to compare side by side). Bounded: it stops adding incidents
after --budget seconds. The database named by --database-url is emptied first.
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
HEADER = (
    f"{'components':>10} {'incidents':>9} {'URL':26} {'ms':>8} {'cpu ms':>8} "
    f"{'queries':>7} {'bytes':>10}"
)
URLS = ("/", "/api/v2/summary.json", "/history.atom", "/history", "/api/v2/incidents.json")
COMPONENTS = (10, 100, 1000)
INCIDENTS = (100, 10_000, 100_000)


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(args.tree))
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
        print(HEADER)
        components = grow_components(app, args)
        for total in INCIDENTS:
            if time.monotonic() - started > args.budget:
                print(f"stopped before {total:,} incidents: over the {args.budget} s budget")
                break
            add_incidents(total, components)
            analyze(args)
            measure_all(app, len(components), total, args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak_mb:.0f} MB")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=5, help="renders per URL (median)")
    parser.add_argument("--budget", type=int, default=600, help="seconds before stopping")
    parser.add_argument("--urls", nargs="+", default=URLS, metavar="URL", help="default: all")
    parser.add_argument("--outages", type=int, default=0, help="short outages per component")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the copy of Herald to measure")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="PostgreSQL: measure without fresh statistics, as right after a bulk import",
    )
    return parser.parse_args()


def grow_components(app, args) -> list:
    from tests.factories import Factory

    make, components = Factory(), []
    for total in COMPONENTS:
        added = make.many_components(total - len(components), first_position=len(components))
        add_outages(added, args.outages)
        components += added
        analyze(args)
        measure_all(app, total, 0, args)
    return components


def analyze(args) -> None:
    """Fresh planner statistics after bulk inserts, as autovacuum soon gives a live database
    (--no-analyze measures the plans PostgreSQL makes before it has them)."""
    from sqlalchemy import text

    from publisher.extensions import db

    if db.engine.dialect.name == "postgresql" and not args.no_analyze:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))


def add_outages(components: list, per_component: int) -> None:
    """Two-hour major outages spread over the last 88 days, in one bulk INSERT."""
    from datetime import timedelta

    from sqlalchemy import insert

    from publisher.extensions import db
    from publisher.models import ComponentStatus, ComponentStatusChange, utcnow

    if not per_component:
        return
    up, down = ComponentStatus.OPERATIONAL, ComponentStatus.MAJOR_OUTAGE
    now, every = utcnow(), timedelta(days=88) / per_component
    rows = []
    for n, component in enumerate(components):
        for k in range(per_component):
            began = now - every * (k + 1) + timedelta(hours=n % 24)
            rows += [
                dict(component_id=component.id, changed_at=began, from_status=up, to_status=down),
                dict(
                    component_id=component.id,
                    changed_at=began + timedelta(hours=2),
                    from_status=down,
                    to_status=up,
                ),
            ]
    db.session.execute(insert(ComponentStatusChange), rows)
    db.session.commit()


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
    for url in args.urls:
        ms, cpu_ms, queries, size = measure(app, url, args.repeat)
        print(
            f"{components:>10} {incidents:>9} {url:26} {ms:8.1f} {cpu_ms:8.1f} "
            f"{queries:>7} {size:>10,}"
        )


def measure(app, url: str, repeat: int) -> tuple[float, float, int, int]:
    from sqlalchemy import event

    from publisher.extensions import db
    from publisher.web.public.caching import cache

    client, times, cpu_times, statements = app.test_client(), [], [], []

    def count(*_args):
        statements.append(1)

    for _ in range(repeat):
        cache.clear()
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        cpu_times.append((time.process_time() - began_cpu) * 1000)
        event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200, (url, response.status_code)
    median = statistics.median
    return median(times), median(cpu_times), len(statements), len(response.data)


if __name__ == "__main__":
    main()
