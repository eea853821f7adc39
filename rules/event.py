"""Events the evaluator returns, and their stable identities.

An :class:`Event` is a school's id plus an :class:`EventBody`. The body is everything a user
sees (title, dates, why, ...) and never mentions the school, so schools that share a calendar
share bodies; the content hash covers the body only, never pack-wide data such as a version.

Identity grammar (DESIGN.md)::

    <school-id>/<pack>/<rule>/<year>[/<occurrence>][/prep:<id>][/pupil:<ref>]

Occurrences are ordinals or labels (``autumn1``, ``w07``, ``october``, ``2``), never dates, so a
moved date keeps its identity.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NamedTuple

from rules.vocabulary import BASIS_LABELS, Audience, Basis, Kind, Status

_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_PUPIL = re.compile(r"^[A-Za-z0-9-]{1,40}$")
# The namespace of sencocal's ICS UIDs, uuid5(NAMESPACE_DNS, "events.sencocal"). Never change
# it: every calendar that ever imported a feed knows its events by the UIDs made in it.
UID_NAMESPACE = uuid.UUID("bc471c47-dcaa-542b-b7ff-d9305db8200c")


def ics_uid(identity: str) -> str:
    """The opaque, stable ICS UID of an event identity: a UUIDv5 (RFC 7986 section 5.3).

    It names neither school nor pupil and is safe as a CalDAV resource name, yet the same
    identity always gives the same UID, so a moved date updates the event in every calendar.
    """
    return str(uuid.uuid5(UID_NAMESPACE, identity))


@dataclass(frozen=True, slots=True)
class EventKey:
    """The stable identity of one event; the ICS UID and sync keys derive from it."""

    school_id: str
    pack: str
    rule: str
    year: int
    occurrence: str | None = None
    prep: str | None = None
    pupil: str | None = None

    def __post_init__(self) -> None:
        for name in ("school_id", "pack", "rule"):
            if not _SEGMENT.match(getattr(self, name)):
                raise ValueError(f"bad {name} in event key: {getattr(self, name)!r}")
        if self.occurrence is not None and not _SEGMENT.match(self.occurrence):
            raise ValueError(f"bad occurrence in event key: {self.occurrence!r}")
        if self.prep is not None and not _SEGMENT.match(self.prep):
            raise ValueError(f"bad prep id in event key: {self.prep!r}")
        if self.pupil is not None and not _PUPIL.match(self.pupil):
            raise ValueError(f"bad pupil ref in event key: {self.pupil!r}")
        if not 1000 <= self.year <= 9999:
            raise ValueError(f"bad year in event key: {self.year!r}")

    def to_string(self) -> str:
        """Render per the identity grammar."""
        tail = suffix(self.pack, self.rule, self.year, self.occurrence, self.prep, self.pupil)
        return f"{self.school_id}/{tail}"

    def ics_uid(self) -> str:
        """The ICS UID derived from this identity (see :func:`ics_uid`)."""
        return ics_uid(self.to_string())

    @classmethod
    def from_string(cls, text: str) -> EventKey:
        """Parse :meth:`to_string` output.

        Raises:
            ValueError: when ``text`` does not follow the grammar.
        """
        parts = text.split("/")
        if len(parts) < 4 or not parts[3].isdigit() or len(parts[3]) != 4:
            raise ValueError(f"not an event identity: {text!r}")
        school_id, pack, rule, year = parts[:4]
        occurrence = prep = pupil = None
        for part in parts[4:]:
            if part.startswith("prep:") and prep is None and pupil is None:
                prep = part[5:]
            elif part.startswith("pupil:") and pupil is None:
                pupil = part[6:]
            elif occurrence is None and prep is None and pupil is None and ":" not in part:
                occurrence = part
            else:
                raise ValueError(f"not an event identity: {text!r}")
        return cls(school_id, pack, rule, int(year), occurrence, prep, pupil)

    def __str__(self) -> str:
        return self.to_string()


def suffix(
    pack: str,
    rule: str,
    year: int,
    occurrence: str | None = None,
    prep: str | None = None,
    pupil: str | None = None,
) -> str:
    """The school-independent part of an identity: ``pack/rule/year[/occ][/prep:id][/pupil:r]``."""
    text = f"{pack}/{rule}/{year}"
    if occurrence is not None:
        text += f"/{occurrence}"
    if prep is not None:
        text += f"/prep:{prep}"
    if pupil is not None:
        text += f"/pupil:{pupil}"
    return text


@dataclass(frozen=True, slots=True)
class Source:
    """Where an event's rule comes from."""

    title: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """What one audience reads of an event in place of the SENCO's words."""

    audience: Audience
    title: str
    description: str


@dataclass(frozen=True)
class EventBody:
    """What a user sees of one event, shared by every school with the same result.

    ``start``/``end`` are dates for all-day events (``end`` exclusive, like ICS DTEND) and
    timezone-aware datetimes in Europe/London for timed ones. ``anchor`` is the date of the
    rule occurrence an event belongs to (a prep task's anchor is its rule's date). ``pupil`` is
    the pseudonymised pupil reference of a per-pupil event; it is part of the identity.
    ``title``, ``description`` and ``effort_hours`` are the SENCO's; ``wording`` holds what other
    audiences read instead (see :meth:`for_reader`).
    """

    pack: str
    rule: str
    year: int
    occurrence: str | None
    prep: str | None
    title: str
    description: str
    kind: Kind
    start: dt.date
    end: dt.date
    all_day: bool
    anchor: dt.date
    audience: tuple[Audience, ...]
    categories: tuple[str, ...]
    involves: tuple[str, ...]
    pupil_level: bool
    statutory: bool
    status: Status
    why: str
    source: Source | None
    effort_hours: float | None
    alarms: tuple[int, ...]
    optional: bool = False
    pupil: str | None = None
    wording: tuple[Reading, ...] = ()
    basis: Basis = Basis.GOOD_PRACTICE
    key_suffix: str = field(init=False)
    sort_key: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        key = suffix(self.pack, self.rule, self.year, self.occurrence, self.prep, self.pupil)
        object.__setattr__(self, "key_suffix", key)
        object.__setattr__(self, "sort_key", (self.start.isoformat(), key))

    @property
    def basis_label(self) -> str | None:
        """``Statutory``, ``Good practice``, ``JCQ regulations``... (None: a date to know)."""
        return BASIS_LABELS[self.basis]

    def for_reader(self, audience: Audience) -> EventBody:
        """The event as ``audience`` reads it: their own words, and no SENCO effort estimate.

        The SENCO's view is the body itself. Views are made once per body and shared.
        """
        if audience == Audience.SENCO:
            return self
        views: dict[Audience, EventBody] = self.__dict__.setdefault("_views", {})
        found = views.get(audience)
        if found is None:
            own = next((r for r in self.wording if r.audience == audience), None)
            found = replace(
                self,
                title=own.title if own else self.title,
                description=own.description if own else self.description,
                effort_hours=None,
                wording=(),
            )
            views[audience] = found
        return found

    @cached_property
    def content_hash(self) -> str:
        """A hash of :meth:`visible`: changes exactly when what a user sees changes."""
        return _hash(self.visible())

    def visible(self) -> dict[str, Any]:
        """Everything a user sees, as JSON-ready values (the content hash covers exactly this)."""
        return {
            "title": self.title,
            "description": self.description,
            "kind": self.kind.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "all_day": self.all_day,
            "audience": [a.value for a in self.audience],
            "categories": list(self.categories),
            "involves": list(self.involves),
            "pupil_level": self.pupil_level,
            "statutory": self.statutory,
            "basis": self.basis.value,
            "status": self.status.value,
            "why": self.why,
            "source": None
            if self.source is None
            else {"title": self.source.title, "url": self.source.url},
            "effort_hours": self.effort_hours,
            "alarms": list(self.alarms),
            "optional": self.optional,
            "wording": {
                r.audience.value: {"title": r.title, "description": r.description}
                for r in self.wording
            },
        }


def _hash(visible: dict[str, Any]) -> str:
    blob = json.dumps(visible, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


class Event(NamedTuple):
    """One dated entry in one school's calendar: the school's id and a shared body.

    A named tuple: immutable, and cheap to make for every school's every event.
    """

    school_id: str
    body: EventBody

    @property
    def uid(self) -> str:
        """The identity string (stored events are keyed by it; the ICS UID derives from it)."""
        return f"{self.school_id}/{self.body.key_suffix}"

    @property
    def ics_uid(self) -> str:
        """The opaque ICS UID: a UUIDv5 of :attr:`uid` (see :func:`ics_uid`)."""
        return ics_uid(self.uid)

    @property
    def key(self) -> EventKey:
        """The identity as a value object."""
        b = self.body
        return EventKey(self.school_id, b.pack, b.rule, b.year, b.occurrence, b.prep, b.pupil)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        """Rebuild an event from :meth:`to_json` output (stored events, API payloads)."""
        key = EventKey.from_string(data["uid"])
        all_day = bool(data["all_day"])
        parse = dt.date.fromisoformat if all_day else dt.datetime.fromisoformat
        source = data.get("source")
        body = EventBody(
            pack=data["pack"],
            rule=data["rule"],
            year=int(data["year"]),
            occurrence=data.get("occurrence"),
            prep=data.get("prep"),
            title=data["title"],
            description=data["description"],
            kind=Kind(data["kind"]),
            start=parse(data["start"]),
            end=parse(data["end"]),
            all_day=all_day,
            anchor=dt.date.fromisoformat(data["anchor"]),
            audience=tuple(Audience(a) for a in data["audience"]),
            categories=tuple(data["categories"]),
            involves=tuple(data.get("involves", ())),
            pupil_level=bool(data["pupil_level"]),
            statutory=bool(data["statutory"]),
            basis=Basis(
                data.get("basis") or ("statutory" if data["statutory"] else "good_practice")
            ),
            status=Status(data["status"]),
            why=data["why"],
            source=None if source is None else Source(source["title"], source.get("url")),
            effort_hours=data.get("effort_hours"),
            alarms=tuple(int(a) for a in data.get("alarms", ())),
            optional=bool(data.get("optional", False)),
            pupil=key.pupil,
            wording=tuple(
                Reading(Audience(a), w["title"], w["description"])
                for a, w in data.get("wording", {}).items()
            ),
        )
        return cls(key.school_id, body)

    def to_json(self) -> dict[str, Any]:
        """The event as the committed event JSON Schema describes it."""
        b = self.body
        out: dict[str, Any] = {"uid": self.uid}
        out.update(b.visible())
        out.update(
            {
                "pack": b.pack,
                "rule": b.rule,
                "year": b.year,
                "occurrence": b.occurrence,
                "prep": b.prep,
                "pupil": b.pupil,
                "anchor": b.anchor.isoformat(),
                "content_hash": b.content_hash,
            }
        )
        return out
