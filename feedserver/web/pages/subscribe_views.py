"""The subscribe page: reached by a link that carries the feed token (nothing stored in clear)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import render_template

from feedserver.pipeline.render import FEED_NAMES
from feedserver.storage import subscriptions
from feedserver.web import limits
from feedserver.web.context import services
from feedserver.web.pages.blueprint import bp


def client_links(url: str, name: str) -> dict[str, str]:
    """One-click subscribe links for the common calendar apps (see calendar-protocols.md 2.5)."""
    webcal = "webcal://" + url.split("://", 1)[1]
    query = f"url={quote(url, safe='')}&name={quote(name, safe='')}"
    return {
        "outlook_work": f"https://outlook.office.com/calendar/0/addfromweb?{query}",
        "outlook_personal": f"https://outlook.live.com/calendar/0/addfromweb?{query}",
        "google": f"https://calendar.google.com/calendar/r?cid={quote(url, safe='')}",
        "google_settings": "https://calendar.google.com/calendar/r/settings/addbyurl",
        "apple": webcal,
    }


@bp.get("/subscribe/<token>")
def subscribe(token: str) -> Any:
    """How to add this feed to Outlook, Google Calendar or Apple Calendar."""
    with services().db.session() as db:
        feed = subscriptions.feed_for_token(db, token)
        if feed is None:
            limits.failed(limits.FEED_MISS)
            return render_template("not_found.html"), 404
        school_name = feed.school.name
        audience = feed.audience
        count = feed.event_count
    url = subscriptions.feed_url(services().config.public_base_url, token)
    name = f"{school_name}: {FEED_NAMES[audience]}"
    return render_template(
        "subscribe.html",
        viewer=None,
        name=name,
        url=url,
        audience=audience,
        count=count,
        links=client_links(url, name),
    )
