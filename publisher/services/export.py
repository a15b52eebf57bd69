"""The public site as static files, for any web server or CDN to serve.

Every file is what Herald itself answers for the same URL (rendered through the
app, cache and all, in the default language and without the language switcher,
which a static host could not answer), so the export never disagrees with the
live page. Pages
without an extension become `<path>/index.html`; history pages after the first
become `history/page/<n>/index.html` and the pager links point there. Links are
root-relative (`/incidents/...`) and feeds use BASE_URL, so the export is served
at the root of the host BASE_URL names.

A export is written aside and swapped in at once: DIR is a symbolic link to a
versioned folder beside it (`.DIR-versions/<n>`), replaced with one rename, so a
reader sees the old site or the new one, never a half-written tree.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from ..extensions import db
from ..models import Component, Incident
from .public import page_state

VERSION_FILE = ".herald-export-version"
KEEP_VERSIONS = 2  # the new site and the one a reader may still be walking
API_V2 = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)
SITE_FILES = ("/history.rss", "/history.atom", "/maintenance.ics", "/badge.svg")
_HISTORY_PAGE_LINK = re.compile(rb'href="/history\?page=(\d+)"')
_OLDER_HISTORY = re.compile(rb'rel="next" href="/history\?page=(\d+)"')
# The language switcher posts to Herald itself: a static host cannot answer it.
_SWITCHER = re.compile(rb'<form class="language-switcher".*?</form>\s*', re.S)


class ExportError(Exception):
    """The target cannot take an export (named in the message)."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    version: int
    files: int
    seconds: float


def export_static(app: Flask, target: Path) -> ExportResult:
    """Render the public site into a new folder beside `target`, then point `target` at it."""
    started = time.monotonic()
    target = Path(os.path.abspath(target))
    versions = _versions_dir(target)
    _check_target(target)
    versions.mkdir(parents=True, exist_ok=True)
    folder = _new_folder(versions)
    version, files = write_site(app, folder)
    _swap(target, folder)
    _prune(versions, keep=folder)
    return ExportResult(target, version, files, time.monotonic() - started)


def exported_version(target: Path) -> int | None:
    """The page version the export at `target` shows (None if there is none)."""
    try:
        return int((Path(target) / VERSION_FILE).read_text())
    except (OSError, ValueError):
        return None


def write_site(app: Flask, folder: Path) -> tuple[int, int]:
    """Every public URL into `folder`; returns (page version, number of files)."""
    version = _current_version()
    client = app.test_client()
    pairs = public_files(app)
    count = 0
    while pairs:
        url, relative = pairs.pop()
        body = _fetch(client, url)
        pairs += _older_history_page(url, body)
        _write(folder / relative, _without_switcher(_rewrite_links(url, body)))
        count += 1
    count += _copy_static(app, folder / "static")
    (folder / VERSION_FILE).write_text(str(version))
    return version, count


def public_files(app: Flask) -> list[tuple[str, str]]:
    """(URL, path inside the export) for every public page, feed, badge and API file
    (history pages after the first are found by following each page's "older" link)."""
    pairs = [("/", "index.html"), ("/history", "history/index.html")]
    pairs += [(url, url.lstrip("/")) for url in SITE_FILES]
    pairs += [(f"/api/v2/{name}", f"api/v2/{name}") for name in API_V2]
    with app.app_context():
        components = db.session.scalars(select(Component.public_id)).all()
        incidents = db.session.scalars(select(Incident.public_id)).all()
    for public_id in components:
        for name in ("history.rss", "history.atom", "badge.svg"):
            pairs.append((f"/components/{public_id}/{name}", f"components/{public_id}/{name}"))
    pairs += [(f"/incidents/{i}", f"incidents/{i}/index.html") for i in incidents]
    return pairs


def _fetch(client, url: str) -> bytes:
    response = client.get(url)
    if response.status_code != 200:
        raise ExportError(f"{url} answered {response.status_code}")
    return response.get_data()


def _older_history_page(url: str, body: bytes) -> list[tuple[str, str]]:
    if not url.startswith("/history") or url.endswith((".rss", ".atom")):
        return []
    found = _OLDER_HISTORY.search(body)
    if found is None:
        return []
    number = int(found.group(1))
    return [(f"/history?page={number}", f"history/page/{number}/index.html")]


def _rewrite_links(url: str, body: bytes) -> bytes:
    """History pager links (`?page=n`) become folder links a static host can serve."""
    if not url.startswith("/history") or url.endswith((".rss", ".atom")):
        return body
    return _HISTORY_PAGE_LINK.sub(rb'href="/history/page/\1/"', body)


def _without_switcher(body: bytes) -> bytes:
    """Pages are exported in the default language, without the form that would change it."""
    return _SWITCHER.sub(b"", body)


def _current_version() -> int:
    return page_state().version


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _copy_static(app: Flask, destination: Path) -> int:
    shutil.copytree(app.static_folder, destination)
    return sum(len(files) for _root, _dirs, files in os.walk(destination))


# ---------------------------------------------------------------- the atomic swap


def _versions_dir(target: Path) -> Path:
    return target.parent / f".{target.name}-versions"


def _check_target(target: Path) -> None:
    if target.is_symlink() or not target.exists():
        return
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()  # an empty folder made for us: it becomes the link
        return
    raise ExportError(
        f"{target} exists and is not a link made by a Herald export; "
        "give a new path or remove it (Herald makes it a link to the newest export)"
    )


def _new_folder(versions: Path) -> Path:
    numbers = [int(p.name) for p in versions.iterdir() if p.name.isdigit()]
    number = max(numbers, default=0) + 1
    while True:
        folder = versions / str(number)
        try:
            folder.mkdir()
            return folder
        except FileExistsError:  # another process is exporting beside us
            number += 1


def _swap(target: Path, folder: Path) -> None:
    link = target.parent / f".{target.name}.link-{os.getpid()}-{time.monotonic_ns()}"
    os.symlink(os.path.relpath(folder, target.parent), link)
    os.replace(link, target)  # one rename: readers see the old tree or the new one


def _prune(versions: Path, keep: Path) -> None:
    folders = sorted((p for p in versions.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    newest = [p for p in folders if int(p.name) <= int(keep.name)][-KEEP_VERSIONS:]
    for folder in folders:
        if folder not in newest and int(folder.name) < int(keep.name):
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
