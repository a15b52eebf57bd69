"""Configuration: safe defaults, then the environment; bad values fail at start."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The first is the default; each other one has publisher/translations/<code>/LC_MESSAGES.
SUPPORTED_LOCALES = ("en", "pl")
# A channel timeout longer than this would hold a delivery past its worker's lease.
MAX_CHANNEL_TIMEOUT = 60


class ConfigError(RuntimeError):
    """Raised at start-up when a setting is missing or malformed; names the variable."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


def instance_dir(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("HERALD_INSTANCE_DIR") or PROJECT_ROOT / "instance").resolve()


def load_config(environ: Mapping[str, str], instance: Path) -> dict:
    """Build the Flask config mapping from the environment (keys are upper-case)."""
    port = _port(environ.get("PORT", "5000"))
    base_url = _base_url(environ.get("BASE_URL") or f"http://127.0.0.1:{port}")
    redis_url = _redis_url(environ.get("REDIS_URL") or None)
    return {
        "SECRET_KEY": environ.get("SECRET_KEY") or _instance_secret(instance),
        "SQLALCHEMY_DATABASE_URI": _database_url(
            environ.get("DATABASE_URL") or f"sqlite:///{instance / 'herald.db'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "BASE_URL": base_url,
        "PORT": port,
        "PAGE_NAME": environ.get("PAGE_NAME", "Herald Status").strip() or "Herald Status",
        "PAGE_TIME_ZONE": _time_zone(environ.get("PAGE_TIME_ZONE", "Etc/UTC")),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis gone: limits fall back to per-process memory, and a storage error never fails
        # a request (SECURITY.md, "Redis outage"); a blackholed Redis costs at most a second.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": (
            {"socket_timeout": 1, "socket_connect_timeout": 1} if redis_url else {}
        ),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        # Reverse proxies in front of Herald whose X-Forwarded-For/-Proto/-Host are believed.
        "TRUSTED_PROXIES": _count(environ, "TRUSTED_PROXIES", 0),
        "CHANNEL_SECRETS_KEY": _fernet_key(environ.get("CHANNEL_SECRETS_KEY") or None),
        # Only for tests and local development: lets channels talk to 127.0.0.1.
        "CHANNELS_ALLOW_LOOPBACK": environ.get("CHANNELS_ALLOW_LOOPBACK") == "1",
        # How long an outlet may take to accept a connection, then to answer each read (seconds).
        "CHANNEL_CONNECT_TIMEOUT": _seconds(environ, "CHANNEL_CONNECT_TIMEOUT", 5.0),
        "CHANNEL_READ_TIMEOUT": _seconds(environ, "CHANNEL_READ_TIMEOUT", 10.0),
        # Enqueue deliveries when a publish commits (tests switch it off to inspect rows).
        "DELIVERY_AUTOSTART": True,
        "DELIVERY_BATCH_SIZE": 200,
        # Jobs started at once for one large fan-out (each sends on its own connection).
        "DELIVERY_PARALLEL": _positive_int(environ, "DELIVERY_PARALLEL", 4),
        # How long a worker owns a row it is sending before the sweeper may take it back.
        "DELIVERY_LEASE_SECONDS": _positive_int(environ, "DELIVERY_LEASE_SECONDS", 120),
        "SMTP": _smtp(environ),
        "PUBLIC_CACHE_ENTRIES": 512,
        # Re-export the public site as static files here after every public change (a link
        # swapped atomically to a versioned folder beside it); unset: no automatic export.
        "EXPORT_DIR": _export_dir(environ.get("EXPORT_DIR") or None),
        "HISTORY_MONTHS_PER_PAGE": 3,
        "UPTIME_DAYS": 90,
        # Regions a customer may name in a feedback report (comma-separated in the environment).
        "FEEDBACK_REGIONS": _feedback_regions(environ.get("FEEDBACK_REGIONS")),
        # Public feedback forms: per client address (Flask-Limiter syntax).
        "FEEDBACK_RATE_LIMIT": environ.get("FEEDBACK_RATE_LIMIT") or "5 per minute;30 per hour",
    }


DEFAULT_REGIONS = (
    "Africa",
    "Asia Pacific",
    "Europe",
    "Middle East",
    "North America",
    "South America",
)


def _feedback_regions(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return DEFAULT_REGIONS
    names = tuple(dict.fromkeys(" ".join(n.split()) for n in raw.split(",") if n.strip()))
    if any(len(n) > 64 for n in names):
        raise ConfigError("FEEDBACK_REGIONS", "each region name must be 64 characters or fewer")
    return names


def _port(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError("PORT", f"must be a number from 1 to 65535, not {raw!r}")
    return int(raw)


def _base_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("BASE_URL", f"must be an absolute http(s) URL, not {raw!r}")
    return raw.rstrip("/")


def _database_url(raw: str) -> str:
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError("DATABASE_URL", f"is not a database URL ({exc})") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("DATABASE_URL", "must be a sqlite:// or postgresql+psycopg:// URL")
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _redis_url(raw: str | None) -> str | None:
    if raw is not None and urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            "REDIS_URL", f"must start with redis://, rediss:// or unix://, not {raw!r}"
        )
    return raw


def _export_dir(raw: str | None) -> str | None:
    if raw is None:
        return None
    path = Path(raw)
    if not path.is_absolute():
        raise ConfigError("EXPORT_DIR", f"must be an absolute path, not {raw!r}")
    if path.exists() and not path.is_symlink() and path.is_dir() and any(path.iterdir()):
        raise ConfigError("EXPORT_DIR", f"{raw} is a folder with files; Herald makes it a link")
    return str(path)


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(name, f"must be a whole number above 0, not {raw!r}")
    return int(raw)


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_CHANNEL_TIMEOUT:  # also refuses nan and inf
        raise ConfigError(
            name,
            f"must be a number of seconds above 0 and at most {MAX_CHANNEL_TIMEOUT}, not {raw!r}",
        )
    return value


def _count(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, str(default))
    if not raw.isdigit() or int(raw) > 10:
        raise ConfigError(name, f"must be a whole number from 0 to 10, not {raw!r}")
    return int(raw)


def _smtp(environ: Mapping[str, str]) -> dict:
    """Mail settings for subscriber email and confirmations (credentials from here only)."""
    security = environ.get("SMTP_SECURITY", "starttls")
    if security not in ("none", "starttls", "ssl"):
        raise ConfigError("SMTP_SECURITY", "must be none, starttls or ssl")
    raw_port = environ.get("SMTP_PORT", "465" if security == "ssl" else "587")
    if not raw_port.isdigit():
        raise ConfigError("SMTP_PORT", f"must be a number, not {raw_port!r}")
    sender = environ.get("MAIL_FROM", "status@localhost")
    if any(c in sender for c in "\r\n") or "@" not in sender:
        raise ConfigError("MAIL_FROM", "must be one email address")
    return {
        "host": environ.get("SMTP_HOST", "127.0.0.1"),
        "port": int(raw_port),
        "security": security,
        "username": environ.get("SMTP_USERNAME") or None,
        "password": environ.get("SMTP_PASSWORD") or None,
        "sender": sender,  # timeouts: CHANNEL_*_TIMEOUT, added by channel_config
    }


def _fernet_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        import base64

        if len(base64.urlsafe_b64decode(raw.encode())) != 32:
            raise ValueError
    except ValueError:
        raise ConfigError(
            "CHANNEL_SECRETS_KEY",
            "must be 32 url-safe base64-encoded bytes; make one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'",
        ) from None
    return raw


def _time_zone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("PAGE_TIME_ZONE", f"unknown time zone {raw!r}") from None
    return raw


def _instance_secret(instance: Path) -> str:
    """A random key generated once into the instance folder, never a constant in code."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        _create_once(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def _create_once(path: Path, text: str) -> None:
    """Write `text` to `path` (mode 0600) unless it exists. It is written aside and linked
    into place, so processes starting together (web, worker, a command) never see a
    half-written file and all read the one key that won."""
    fd, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.link(aside, path)
    except FileExistsError:
        pass  # another process linked its key first
    finally:
        os.unlink(aside)
