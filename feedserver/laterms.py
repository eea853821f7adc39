"""An LA's term dates from its spreadsheet (the schools' CSV template) or its ICS calendar.

Either becomes a pack of its own, ``la-<code>-term-dates``, holding only ``term_dates``; it is
published like any pack (validated, versioned, fanned out), and for the years it covers it
replaces term dates in the LA's other packs. Schools inherit them unless they set their own.
Pure: bytes in, YAML text out; every problem names the file, and the line or the entry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

import yaml

from feedserver import termcsv
from rules.errors import PackError, PackRejected
from rules.vocabulary import HALF_LABELS

ICS_FILENAME = "term-dates.ics"
_SEASONS = ("autumn", "spring", "summer")
_FIRST = re.compile(r"\b(1|one|first|i)\b")
_SECOND = re.compile(r"\b(2|two|second|ii)\b")


def slug_for(la_code: str) -> str:
    """The pack an LA's imported term dates live in."""
    return f"la-{la_code}-term-dates"


def from_csv(data: bytes | str) -> dict[int, list[dict[str, Any]]]:
    """Term periods by academic year from the CSV template (no INSET or closure rows).

    Raises:
        PackRejected: every problem, with its line.
    """
    found = termcsv.parse(data)
    if found.inset or found.closures:
        raise PackRejected(
            [
                PackError(
                    termcsv.FILENAME,
                    "INSET and closure days are each school's own; an LA file holds the six "
                    "half terms only. Remove the inset and closure rows.",
                )
            ]
        )
    return {year: list(periods) for year, periods in found.periods.items()}


def from_ics(data: bytes | str) -> dict[int, list[dict[str, Any]]]:
    """Term periods from an ICS calendar: one all-day event per half term.

    Each event's summary names its half term ("Autumn term 1", "Spring 2", "Summer first
    half", "autumn1"); an event that spans a whole term is split at nothing: name the halves.

    Raises:
        PackRejected: every problem, naming the event.
    """
    import icalendar

    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        calendar = icalendar.Calendar.from_ical(raw)
    except ValueError as exc:
        raise PackRejected([PackError(ICS_FILENAME, f"not an ICS calendar ({exc}).")]) from None
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    problems: list[PackError] = []
    for event in calendar.walk("VEVENT"):
        summary = str(event.get("SUMMARY", "")).strip()
        start = event.decoded("DTSTART", None)
        end = event.decoded("DTEND", None)
        label = half_label(summary)
        where = f"the event “{summary or 'with no title'}”"
        if label is None:
            problems.append(
                PackError(
                    ICS_FILENAME,
                    f"{where} does not say which half term it is; title it like "
                    "“Autumn term 1” or “Spring 2”.",
                    field="SUMMARY",
                    value=summary,
                )
            )
            continue
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            problems.append(
                PackError(ICS_FILENAME, f"{where} must be an all-day event.", field="DTSTART")
            )
            continue
        last = (end - dt.timedelta(days=1)) if isinstance(end, dt.date) else start
        if last < start:
            last = start
        year = termcsv.rules_year(start)
        out[year].append({"label": label, "start": start, "end": last})
    if problems:
        raise PackRejected(problems)
    if not out:
        raise PackRejected([PackError(ICS_FILENAME, "the calendar has no half-term events.")])
    return dict(out)


def half_label(summary: str) -> str | None:
    """``autumn1`` ... ``summer2`` from an event title, or None."""
    text = summary.lower().replace("-", " ").replace("_", " ")
    compact = re.sub(r"\s+", "", text)
    for label in HALF_LABELS:
        if label in compact:
            return label
    season = next((s for s in _SEASONS if s in text), None)
    if season is None:
        return None
    rest = text.split(season, 1)[1]
    if _SECOND.search(rest):
        return f"{season}2"
    if _FIRST.search(rest):
        return f"{season}1"
    return None


def pack_yaml(
    la_code: str, la_name: str, periods: dict[int, list[dict[str, Any]]], version: str
) -> str:
    """The term-dates pack's YAML (validated when it is published like any other pack)."""
    data = {
        "pack": slug_for(la_code),
        "title": f"{la_name} term dates",
        "publisher": {"kind": "la", "code": la_code, "name": la_name},
        "version": version,
        "term_dates": {
            year: [
                {"label": p["label"], "start": p["start"], "end": p["end"]}
                for p in sorted(rows, key=lambda p: p["start"])
            ]
            for year, rows in sorted(periods.items())
        },
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
