"""The ``sencocal`` command line (click). Heavy imports live inside the commands."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def handles_input_errors(func: F) -> F:
    """The command line's error presenter: a plain message and exit 1, never a traceback.

    Input problems say what and where (every problem of a pack, one per line); a database that
    is down or not set up says what to do; anything else is a bug, reported in one line.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from feedserver import errors
        from rules import PackRejected, SencocalInputError

        try:
            return func(*args, **kwargs)
        except PackRejected as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)
        except (SencocalInputError, errors.SencocalError) as exc:
            click.echo(f"sencocal: {exc}", err=True)
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 - the presenter of last resort
            unavailable = errors.from_database(exc)
            if unavailable is not None:
                click.echo(f"sencocal: {unavailable}", err=True)
            else:
                click.echo(
                    f"sencocal: unexpected error ({type(exc).__name__}: {exc}); please report it.",
                    err=True,
                )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.version_option(package_name="sencocal")
def main() -> None:
    """sencocal: live calendars for school SEND teams."""


@main.group()
def pack() -> None:
    """Check rule packs and print their schema."""


@pack.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def pack_check(files: tuple[str, ...]) -> None:
    """Validate pack FILES; print every problem as file:line: rule <id>, field <f>: message."""
    from rules import PackRejected, load_pack

    failed = False
    for name in files:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            click.echo(f"{name}: cannot read the file ({exc.strerror}).", err=True)
            failed = True
            continue
        try:
            loaded = load_pack(data, name)
        except PackRejected as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            continue
        click.echo(f"{name}: ok ({loaded.pack} {loaded.version}, {len(loaded.rules)} rules)")
    sys.exit(1 if failed else 0)


@pack.command("schema")
@click.option("--events", is_flag=True, help="Print the event JSON Schema instead.")
def pack_schema(events: bool) -> None:
    """Print the JSON Schema for pack files (for editor validation)."""
    from rules.schemas import dumps, event_list_schema, pack_schema

    click.echo(dumps(event_list_schema() if events else pack_schema()), nl=False)


@main.command()
@click.option(
    "--school", required=True, help="A demo school name (demo-primary) or a profile file."
)
@click.option(
    "--pack", "packs", multiple=True, help="Add a pack (bundled name or file); repeatable."
)
@click.option(
    "--year",
    type=int,
    required=True,
    callback=lambda _ctx, _param, value: _academic_year(value),
    help="Academic year, as the year it starts: 2026 means 2026/27.",
)
@click.option(
    "--audience",
    type=click.Choice(["senco", "slt", "governors", "ta", "staff"]),
    default="senco",
    show_default=True,
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "ics"]),
    default="table",
    show_default=True,
)
@click.option(
    "--stamp",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    default=None,
    help="DTSTAMP for --format ics (UTC; default: now).",
)
@handles_input_errors
def preview(
    school: str,
    packs: tuple[str, ...],
    year: int,
    audience: str,
    fmt: str,
    stamp: dt.datetime | None,
) -> None:
    """Show a school's events for one academic year."""
    from feedserver import catalog
    from rules import evaluate_full
    from rules.audiences import for_audience

    profile = catalog.school_by_name_or_path(school)
    extra = [catalog.pack_by_name_or_path(ref) for ref in packs]
    result = evaluate_full(catalog.packs_for(profile, extra), profile, year)
    events = for_audience(result.events, audience)
    if fmt == "json":
        click.echo(json.dumps([e.to_json() for e in events], indent=2, ensure_ascii=False))
    elif fmt == "ics":
        from feedserver.ics import FeedMeta, render

        when = (stamp or dt.datetime.now(dt.UTC)).replace(tzinfo=dt.UTC)
        label = f"{year}/{(year + 1) % 100:02d}"
        meta = FeedMeta(name=f"{profile.name}: SEND calendar ({audience}, {label})")
        sys.stdout.buffer.write(render(events, meta, when))
    else:
        _table(profile.name, year, audience, events)
    from feedserver.wording import warning_for_author

    for warning in result.warnings:
        click.echo(f"warning: {warning_for_author(warning)}", err=True)


# ------------------------------------------------------------------------ the service


def _services(*, migrated: bool = True) -> Any:
    """The services of this process, from the environment, installed for the jobs it runs.

    Args:
        migrated: check first that the database is set up (and say what to run if not).
    """
    import os

    from feedserver import runtime
    from feedserver.config import Config

    svc = runtime.Services.from_config(Config.from_mapping(os.environ, _instance_path()))
    runtime.install(svc)
    if migrated:
        svc.db.check_ready()
    return svc


def _instance_path() -> str:
    """Where Flask keeps the default SQLite database (the same place for every command)."""
    from flask import Flask

    return Flask("feedserver").instance_path


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@handles_input_errors
def db_upgrade() -> None:
    """Create or upgrade the tables in DATABASE_URL (SQLite in the instance folder by default)."""
    svc = _services(migrated=False)
    svc.db.upgrade()
    click.echo(f"database is up to date: {_safe_url(svc.config.database_url)}")


@main.group()
def admin() -> None:
    """Instance administration."""


@admin.command("create-key")
@click.option("--label", default="instance admin", show_default=True)
@handles_input_errors
def admin_create_key(label: str) -> None:
    """Create an instance-admin API key and print it once (only its hash is stored)."""
    from feedserver.storage import apikeys

    svc = _services()
    with svc.db.session() as session:
        key = apikeys.create_key(session, "admin", svc.clock.now(), label=label)
    click.echo(key)
    click.echo("Keep this key safe: it is shown once and cannot be recovered.", err=True)


@admin.command("list-keys")
@handles_input_errors
def admin_list_keys() -> None:
    """List every API key: number, what it reaches, label, made, last used, revoked."""
    from feedserver.storage import apikeys

    def when(value: dt.datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else "-"

    svc = _services()
    with svc.db.session() as session:
        keys = apikeys.all_keys(session)
        click.echo(
            f"{'key':>5}  {'reaches':<24} {'made':<16} {'last used':<16} {'revoked':<16} label"
        )
        for key in keys:
            reaches = "instance admin" if key.role == "admin" else f"school {key.school_id}"
            stamps = " ".join(f"{when(t):<16}" for t in (key.created_at, key.last_used_at,
                                                          key.revoked_at))  # fmt: skip
            click.echo(f"{key.id:>5}  {reaches[:24]:<24} {stamps} {key.label}")


@admin.command("revoke-key")
@click.argument("number", required=False, type=int)
@click.option("--secret-from-stdin", is_flag=True,
              help="Read the key itself from standard input (a leaked key whose number you do "
                   "not know).")  # fmt: skip
@handles_input_errors
def admin_revoke_key(number: int | None, secret_from_stdin: bool) -> None:
    """Revoke API key NUMBER (see list-keys): it stops working at once, with its sessions."""
    from sqlalchemy import select

    from feedserver.storage import apikeys
    from feedserver.storage.models import ApiKey
    from feedserver.storage.tokens import digest

    if (number is None) == (not secret_from_stdin):
        raise click.UsageError("give a key NUMBER, or --secret-from-stdin (not both).")
    svc = _services()
    with svc.db.session() as session:
        if number is None:
            secret = sys.stdin.readline().strip()
            key = session.scalars(select(ApiKey).where(ApiKey.key_hash == digest(secret))).first()
            if key is None:
                raise apikeys.KeyNotFound("no API key matches what was given on standard input.")
            number = key.id
        key = apikeys.revoke(session, number, "cli", svc.clock.now())
        label = f" “{key.label}”" if key.label else ""
        click.echo(f"key {key.id}{label} is revoked (since {key.revoked_at:%Y-%m-%d %H:%M} UTC)")


@admin.command("delete-school")
@click.argument("school_id")
@click.option("--yes", is_flag=True, help="Do it (without it, nothing is deleted).")
@handles_input_errors
def admin_delete_school(school_id: str, yes: bool) -> None:
    """Delete a school and everything sencocal keeps about it (see SECURITY.md)."""
    from feedserver.storage import schools

    if not yes:
        raise click.UsageError(f"this deletes {school_id} for good: add --yes to do it.")
    svc = _services()
    with svc.db.session() as session:
        counts = schools.delete(session, school_id, "cli", svc.clock.now())
    click.echo(f"{school_id} is deleted: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    click.echo("Backups, logs and calendars that copied its feeds are not touched (SECURITY.md).",
               err=True)  # fmt: skip


@admin.command("new-encryption-key")
def admin_new_encryption_key() -> None:
    """Print a new Fernet key for SENCOCAL_ENCRYPTION_KEYS (put it first to rotate)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@pack.command("publish")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@handles_input_errors
def pack_publish(file: str) -> None:
    """Publish an LA pack; the schools it reaches are re-evaluated by jobs.

    A rejected pack leaves the live one as it was.
    """
    from feedserver.pipeline import jobs
    from feedserver.pipeline.dispatch import enqueue
    from feedserver.storage import packstore

    svc = _services()
    with svc.db.session() as session:
        version, new = packstore.publish(
            session, Path(file).read_bytes(), file, "cli", svc.clock.now()
        )
        reached = len(packstore.reached_school_ids(session, version))
        if new:
            enqueue(jobs.fan_out_pack, version.id, reason="publish")
    if not new:
        click.echo(f"{version.slug}: unchanged (revision {version.revision}); nothing to do")
        return
    done = "queued for" if svc.config.redis_url else "re-evaluated"
    click.echo(f"{version.slug}: revision {version.revision}; {reached} school(s) {done}")


@main.command("refresh")
@handles_input_errors
def refresh_command() -> None:
    """Re-evaluate every school whose inputs changed and re-render its feeds.

    With REDIS_URL this queues the work for the workers (the scheduler also runs it nightly);
    without, it runs here.
    """
    from feedserver.clock import today
    from feedserver.pipeline import jobs, refresh
    from feedserver.pipeline.dispatch import enqueue

    svc = _services()
    with svc.db.session() as session:
        stale = len(refresh.stale_school_ids(session, today(svc.clock)))
    enqueue(jobs.refresh_stale, reason="cli")
    done = "queued for" if svc.config.redis_url else "re-evaluated"
    click.echo(f"{stale} school(s) with changes {done} re-evaluation" if svc.config.redis_url
               else f"{stale} school(s) with changes re-evaluated")  # fmt: skip


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--workers", default=None, type=int, help="Default: WEB_CONCURRENCY or 2.")
@handles_input_errors
def serve(port: int, host: str, workers: int | None) -> None:
    """Serve the app with gunicorn (production: put nginx in front; see the README)."""
    import os

    from gunicorn.app.base import BaseApplication

    from feedserver import create_app

    _services()  # validates the config and the database now, before forking workers
    app = create_app(background_jobs=True)

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers or int(os.environ.get("WEB_CONCURRENCY", "2")))
            self.cfg.set("logger_class", "feedserver.web.logs.GunicornLogger")
            self.cfg.set("accesslog", "-")
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return app

    _Gunicorn().run()


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--today", "today_", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Pretend it is this day (the feeds' window follows it).")  # fmt: skip
@click.option("--no-serve", is_flag=True, help="Set up and print the URLs, then exit.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep the demo's SQLite database in this new file (default: a new private "
                   "folder in the system's temporary directory).")  # fmt: skip
@handles_input_errors
def demo(port: int, today_: dt.datetime | None, no_serve: bool, db_path: Path | None) -> None:
    """Run the demo: its own SQLite file, the demo LA and two schools, every feed's URL."""
    from feedserver.demo_setup import build_demo

    app, lines = build_demo(port, today_.date() if today_ else None, db_path)
    for line in lines:
        click.echo(line)
    if not no_serve:
        click.echo(f"\nServing on http://127.0.0.1:{port} (Ctrl+C to stop)")
        app.run(host="127.0.0.1", port=port, use_reloader=False, threaded=True)


def _academic_year(value: int) -> int:
    if not 1990 <= value <= 2200:
        raise click.BadParameter(
            f"{value} is not an academic year: write the year it starts in full, e.g. 2026 "
            "for 2026/27."
        )
    return value


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _table(name: str, year: int, audience: str, events: list[Any]) -> None:
    from rules.dates import fmt

    label = f"{year}/{(year + 1) % 100:02d}"
    click.echo(f"{name}: {label}, {audience} calendar, {len(events)} entries")
    click.echo("")
    for event in events:
        body = event.body
        start = body.start.date() if isinstance(body.start, dt.datetime) else body.start
        days = (body.end - body.start).days if body.all_day else 0
        when = fmt(start) + (f" (+{days - 1}d)" if days > 1 else "")
        if not body.all_day:
            when += f" {body.start:%H:%M}"
        marks = []
        if body.statutory:
            marks.append("statutory")
        if body.status.value != "confirmed":
            marks.append(body.status.value)
        if body.optional:
            marks.append("optional")
        tag = f" [{', '.join(marks)}]" if marks else ""
        click.echo(f"{when:<22} {body.kind.value:<8} {body.title}{tag}")
