"""Rendering a school's feeds from its live events, only when their bytes would change.

Feeds are rendered here, when events change, never per request. A feed whose bytes come out the
same keeps its ETag and its Last-Modified, so calendar clients polling it get 304s. When refresh
knows that only some entries changed (a pack's new version, nothing else), the feeds none of
them reaches are not even rendered (:func:`untouched_audiences`): their bytes could not change.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib

from sqlalchemy.orm import Session

import rules
from feedserver.ics import FeedMeta, Revisions, render
from feedserver.storage.models import School
from rules.audiences import COUNTED, for_audience
from rules.diff import Diff
from rules.vocabulary import Audience, academic_year_label

# Level 4: half the time of level 6 for 9% more bytes (bench/jobs.py; feeds are rendered on
# every change and served gzipped from the stored bytes).
GZIP_LEVEL = 4
FEED_NAMES = {
    "senco": "SEND calendar",
    "slt": "SEND for senior leaders",
    "governors": "SEND for governors",
    "ta": "SEND for the TA team",
    "staff": "SEND for all staff",
}
FEED_COLOURS = {
    "senco": "teal",
    "slt": "navy",
    "governors": "purple",
    "ta": "darkgreen",
    "staff": "slategray",
}


def render_feeds(
    session: Session,
    school: School,
    years: tuple[int, int],
    now: dt.datetime,
    events: list[rules.Event],
    revisions: Revisions,
    unchanged: frozenset[str] = frozenset(),
) -> list[str]:
    """Render every feed of ``school`` whose bytes would change; the audiences rendered.

    Args:
        session: the school's transaction (the caller holds its lock and commits).
        school: the school, with its feeds.
        years: the window (current and next academic year).
        now: when the new bytes took effect.
        events: the window's live events, in evaluator order.
        revisions: their SEQUENCE and LAST-MODIFIED.
        unchanged: audiences whose feed is known to come out as it is stored (same entries,
            same school name and window since it was rendered); not rendered again.
    """
    rendered: list[str] = []
    label = f"{academic_year_label(years[0])} and {academic_year_label(years[1])}"
    stamp = school.events_changed_at or school.created_at
    for feed in school.feeds:
        if (
            feed.audience in unchanged
            and feed.ics_gzip is not None
            and feed.window_start == years[0]
        ):
            continue
        chosen = for_audience(events, feed.audience)
        meta = FeedMeta(
            name=f"{school.name}: {FEED_NAMES[feed.audience]}",
            description=f"sencocal {FEED_NAMES[feed.audience]} for {school.name}, {label}.",
            color=FEED_COLOURS[feed.audience],
        )
        data = render(chosen, meta, stamp, revisions)
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if feed.etag == etag and feed.window_start == years[0] and feed.ics_gzip is not None:
            continue
        feed.ics_gzip = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
        feed.etag = etag
        feed.window_start = years[0]
        feed.content_changed_at = now
        feed.event_count = len(chosen)
        rendered.append(feed.audience)
    session.flush()
    return rendered


def untouched_audiences(diff: Diff, live: list[rules.Event]) -> frozenset[str]:
    """The audiences whose feeds hold none of the entries ``diff`` adds, changes or removes.

    An entry reaches the SENCO's feed always, and another audience's when that audience is among
    its readers and it is not pupil-level (``rules.audiences.for_audience``); an update counts
    for the readers of its old version and of its new one. The weekly counts senior leaders and
    governors see of pupil-level meetings are stamped with the school's last change, so a feed
    that may hold counts is rendered again whenever anything changed.
    """
    touched = [c.event for c in diff.creates]
    touched += [u.event for u in diff.updates] + [u.before.event for u in diff.updates]
    touched += [d.before.event for d in diff.deletes]
    if not touched:
        return frozenset(FEED_NAMES)
    reached = {Audience.SENCO}
    for event in touched:
        if not event.body.pupil_level:
            reached.update(event.body.audience)
    for event in live:
        if event.body.pupil_level:
            reached.update(COUNTED.intersection(event.body.audience))
    return frozenset(a for a in FEED_NAMES if Audience(a) not in reached)
