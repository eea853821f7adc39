"""The demo: a fresh SQLite database with the example LA, two schools and all their feeds."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from feedserver import auth, catalog, packstore, refresh, schools, subscriptions
from feedserver.clock import FixedClock, SystemClock, today
from feedserver.config import Config
from rules.vocabulary import academic_year_label

DEMO_TOKEN = "demo"


def demo_database(directory: Path | None = None) -> str:
    """A fresh SQLite URL for the demo (never DATABASE_URL)."""
    folder = directory or Path(tempfile.gettempdir()) / "sencocal-demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.db"
    for leftover in (path, folder / "demo.db-wal", folder / "demo.db-shm"):
        leftover.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def build_demo(
    port: int, day: dt.date | None, directory: Path | None = None
) -> tuple[Any, list[str]]:
    """Create the demo app and data; return the app and the lines to print (URLs first)."""
    from feedserver import create_app

    config = Config.from_mapping(
        {"DATABASE_URL": demo_database(directory), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    )
    clock = FixedClock(dt.datetime.combine(day, dt.time(9, 0), dt.UTC)) if day else SystemClock()
    app = create_app(config, clock=clock)
    svc = app.extensions["sencocal"]
    svc.db.upgrade()
    now = clock.now()
    urls: dict[str, list[tuple[str, str]]] = {}
    with svc.db.session() as session:
        admin_key = auth.create_key(session, "admin", now, label="demo admin", actor="demo")
        for name in catalog.demo_pack_names():
            packstore.publish(session, catalog.demo_file(name), f"{name}.yaml", "demo", now)
        for name in catalog.demo_school_names():
            row = schools.save(session, catalog.demo_school(name), "demo", now)
            for audience in refresh.AUDIENCES:
                feed = subscriptions.ensure_feed(session, row, audience, "demo", now)
                secret = subscriptions.add_token(session, feed, DEMO_TOKEN, "demo", now)
                urls.setdefault(audience, []).append(
                    (row.name, subscriptions.feed_url(config.public_base_url, secret))
                )
            refresh.refresh_school(session, row.id, today(clock), now, memo=svc.memo)
    years = refresh.window(today(clock))
    lines = [
        f"sencocal demo: feeds for {academic_year_label(years[0])} and "
        f"{academic_year_label(years[1])}",
        "",
    ]
    for audience in refresh.AUDIENCES:  # the SENCO feeds first
        for school_name, url in urls[audience]:
            lines.append(f"{audience:<9} {school_name}: {url}")
    lines += [
        "",
        f"admin API key (demo only): {admin_key}",
        f"API document: {config.public_base_url}/api/openapi.json",
    ]
    return app, lines
