"""The demo: its own SQLite database with the example LA, two schools and all their feeds."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from feedserver import catalog
from feedserver.clock import FixedClock, SystemClock, today
from feedserver.config import Config
from feedserver.pipeline import jobs, refresh
from feedserver.pipeline.dispatch import enqueue
from feedserver.storage import apikeys, las, packstore, schools, subscriptions
from feedserver.storage.subscriptions import AUDIENCES
from rules.errors import SencocalInputError
from rules.vocabulary import academic_year_label

DEMO_TOKEN = "demo"
DEMO_LA = "999"  # the example LA pack's publisher


def demo_database(path: Path | None = None) -> Path:
    """Where this demo's SQLite file goes: ``path`` (which must not exist yet), or a new file.

    Without ``path``, every run gets a new private folder (``sencocal-demo-*`` in the system's
    temporary directory, readable by this user only), so two demos never share data.
    """
    if path is None:
        return Path(tempfile.mkdtemp(prefix="sencocal-demo-")) / "demo.db"
    if path.exists():
        raise SencocalInputError(
            f"{path} already exists; give --db a new file name, or delete that file first."
        )
    return path


def build_demo(
    port: int, day: dt.date | None, db_path: Path | None = None
) -> tuple[Any, list[str]]:
    """Create the demo app and data; return the app and the lines to print (URLs first)."""
    from feedserver import create_app, runtime

    path = demo_database(db_path)
    config = Config.from_mapping(
        {"DATABASE_URL": f"sqlite:///{path}", "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    )
    clock = FixedClock(dt.datetime.combine(day, dt.time(9, 0), dt.UTC)) if day else SystemClock()
    app = create_app(config, clock=clock, background_jobs=True)
    svc = app.extensions["sencocal"]
    svc.db.upgrade()
    now = clock.now()
    urls: dict[str, list[tuple[str, str]]] = {}
    with runtime.using(svc), svc.db.session() as session:  # jobs run in-process after commit
        admin_key = apikeys.create_key(session, "admin", now, label="demo admin", actor="demo")
        las.create(session, DEMO_LA, "Example Borough Council (fictional)", "demo", now)
        la_key = apikeys.create_key(session, "la", now, label="demo LA officer", actor="demo",
                                    la_code=DEMO_LA)  # fmt: skip
        for name in catalog.demo_pack_names():
            packstore.publish(session, catalog.demo_file(name), f"{name}.yaml", "demo", now)
        for name in catalog.demo_school_names():
            row = schools.save(session, catalog.demo_school(name), "demo", now)
            for audience in AUDIENCES:
                feed = subscriptions.ensure_feed(session, row, audience, "demo", now)
                secret = subscriptions.add_token(session, feed, DEMO_TOKEN, "demo", now)
                urls.setdefault(audience, []).append(
                    (row.name, subscriptions.feed_url(config.public_base_url, secret))
                )
            enqueue(jobs.evaluate_school, row.id, reason="profile")
    svc.jobs.wait()  # every feed is rendered before its address is printed
    years = refresh.window(today(clock))
    base = config.public_base_url
    lines = [
        f"sencocal demo: feeds for {academic_year_label(years[0])} and "
        f"{academic_year_label(years[1])}",
        "",
    ]
    for audience in AUDIENCES:  # the SENCO feeds first
        for school_name, url in urls[audience]:
            lines.append(f"{audience:<9} {school_name}: {url}")
    lines += [
        "",
        f"admin key (demo only): {admin_key}",
        f"LA officer key (demo only): {la_key}",
        f"Next: open {base}/sign-in in a browser and sign in with the admin key above;",
        "      paste a feed address into your calendar app's 'subscribe from URL'.",
        "      Sign in with the LA officer key to publish the example LA's deadlines.",
        f"API document: {base}/api/openapi.json",
        f"Demo database: {path} (delete its folder when you are done)",
    ]
    return app, lines
