"""Herald: a self-hosted status page and incident communications publisher."""

from __future__ import annotations

import logging
import os

from flask import Flask

from .config import PROJECT_ROOT, instance_dir, load_config


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers, commands."""
    app = Flask(
        __name__,
        instance_path=str(instance_dir()),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    configure(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_jobs(app)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(load_config(os.environ, instance_dir()))
    if test_config:
        app.config.from_mapping(test_config)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    # Alembic announces each of its plugins at INFO on every start; nobody needs that.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .web.i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)


def register_blueprints(app: Flask) -> None:
    from .extensions import csrf
    from .web import access, language, sessions, template_helpers
    from .web.api import blueprint as api_v1
    from .web.console import blueprint as console
    from .web.public import blueprint as public
    from .web.public import fastpath

    fastpath.init_app(app)  # first, so a ProxyFix added below wraps it and it sees the client
    template_helpers.init_app(app)
    sessions.init_app(app)
    access.init_app(app)
    app.register_blueprint(public)
    app.register_blueprint(console)
    app.register_blueprint(language.blueprint)
    csrf.exempt(api_v1)  # bearer tokens, not cookies: nothing for CSRF to ride on
    app.register_blueprint(api_v1)


def register_errorhandlers(app: Flask) -> None:
    from .web import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from .cli import herald

    app.cli.add_command(herald)


def register_jobs(app: Flask) -> None:
    from .jobs import bind_app

    bind_app(app)
