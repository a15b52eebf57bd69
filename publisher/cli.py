"""`flask herald ...`: operator commands. Thin: parse, call one service, print."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .models import Role, utcnow
from .services import demo, tokens, users
from .services.errors import ServiceError

herald = AppGroup("herald", help="Herald operator commands.")


@herald.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has data.")
def demo_command(if_empty: bool) -> None:
    """Load the demo status page and team into the database."""
    if not demo.is_empty():
        if if_empty:
            click.echo("The database already has data; demo data not loaded.")
            return
        raise click.ClickException("The database is not empty; demo data goes into an empty one.")
    accounts = demo.load_demo(utcnow())
    path = os.path.join(current_app.instance_path, "demo_credentials.txt")
    _write_private(path, "".join(f"{a.email}  {a.password}  ({a.role})\n" for a in accounts))
    click.echo(f"Demo data loaded. Sign-in details for the demo team are in {path}")


@herald.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", help="Given here, nothing is asked (for scripts).")
def create_user_command(email: str, name: str, role: str, password: str | None) -> None:
    """Create a staff account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create_user(email, name, role, password)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created {user.email} ({user.role}).")


@herald.command("create-token")
@click.option("--email", required=True, help="The account the token acts as.")
@click.option("--name", default="cli", show_default=True, help="A name to recognise it by.")
def create_token_command(email: str, name: str) -> None:
    """Create an API token for an account and print it (shown only this once)."""
    user = users.find_by_email(email)
    if user is None or not user.is_enabled:
        raise click.ClickException(f"No enabled account with the address {email}.")
    try:
        _token, plaintext = tokens.create_token(user, name)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(plaintext)


@herald.command("sweep")
def sweep_command() -> None:
    """Take back stuck deliveries and send what is due now (the worker does this every minute)."""
    from .jobs.delivery import sweep_deliveries

    sweep_deliveries.call_local()
    click.echo("Swept.")


@herald.command("export-static")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_static_command(directory: Path) -> None:
    """Write the public site as static files; DIRECTORY becomes a link swapped atomically."""
    from .services import export

    try:
        result = export.export_static(current_app._get_current_object(), directory)
    except export.ExportError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Exported {result.files} files (page version {result.version}) to {result.path} "
        f"in {result.seconds:.1f} s."
    )


@herald.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
def worker_command(workers: int) -> None:
    """Run the job worker (Huey consumer) for deliveries and periodic tasks."""
    from .jobs import huey

    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    click.echo(f"Herald worker started ({workers} threads).", err=True)
    consumer.run()
    sys.exit(0)


@herald.command("serve")
@click.option(
    "--workers", type=int, help="Web worker processes (default: WEB_CONCURRENCY or cores)."
)
def serve_command(workers: int | None) -> None:
    """Serve Herald (granian, or gunicorn with WEB_SERVER=gunicorn) on 127.0.0.1:PORT and run
    the job worker beside it."""
    from . import serve

    try:
        server = serve.default_server()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    port = current_app.config["PORT"]
    click.echo(f"Herald is starting on http://127.0.0.1:{port} ({server})")
    _print_sign_in_help()
    sys.exit(serve.run(port, workers or serve.default_workers(), Path.cwd(), server))


def _print_sign_in_help() -> None:
    path = Path(current_app.instance_path) / "demo_credentials.txt"
    if path.exists():
        url = f"http://127.0.0.1:{current_app.config['PORT']}/console/login"
        click.echo(f"Staff console: {url} (demo team below; also in {path}):")
        click.echo(path.read_text().rstrip())
    else:
        click.echo("Create a staff account with: flask --app app herald create-user --email ...")
    click.echo("Press Ctrl+C to stop.")


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
