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
    """Print a user's input problems plainly and exit 1; never show a traceback for them."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from rules import PackRejected, SencocalInputError

        try:
            return func(*args, **kwargs)
        except PackRejected as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)
        except (SencocalInputError, KeyError, FileNotFoundError, IsADirectoryError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            click.echo(f"sencocal: {message}", err=True)
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
@click.option("--year", type=int, required=True, help="Academic year: 2026 means 2026/27.")
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
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


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
