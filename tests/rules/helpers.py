"""Small builders for rule tests: a pack from rule dicts, a rule's events for one school-year."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

import rules
from rules.calendar import bank_holidays
from rules.event import EventBody


def make_pack(rule_list: list[dict[str, Any]], slug: str = "test-pack", **extra: Any) -> rules.Pack:
    """A valid pack holding ``rule_list`` (defaults filled in for brevity)."""
    filled = []
    for rule in rule_list:
        rule = dict(rule)
        rule.setdefault("title", rule["id"].replace("-", " ").capitalize())
        rule.setdefault("kind", "task")
        rule.setdefault("audience", ["senco"])
        rule.setdefault("category", "test")
        filled.append(rule)
    doc = {
        "pack": slug,
        "title": "Test pack",
        "publisher": {"kind": "school", "code": "test"},
        "version": "1",
        "rules": filled,
        **extra,
    }
    text = yaml.dump(doc, Dumper=NoAliasDumper, sort_keys=False)
    return rules.load_pack(text, f"{slug}.yaml")


class NoAliasDumper(yaml.SafeDumper):
    """Writes shared dicts out in full: packs refuse YAML anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def evaluate_rule(
    rule: dict[str, Any],
    profile: rules.SchoolProfile,
    year: int,
    *,
    others: list[dict[str, Any]] | None = None,
    packs: list[rules.Pack] | None = None,
) -> tuple[list[EventBody], rules.Evaluation]:
    """The main (non-prep) bodies ``rule`` makes for ``profile`` in ``year``."""
    pack = make_pack([rule, *(others or [])])
    result = rules.evaluate_full([pack, *(packs or [])], profile, year)
    mains = [e.body for e in result.events if e.body.rule == rule["id"] and e.body.prep is None]
    return mains, result


def starts(bodies: list[EventBody]) -> list[dt.date]:
    """Start dates of ``bodies``."""
    return [b.start for b in bodies]


def is_staff_day(profile: rules.SchoolProfile, day: dt.date, la_periods: Any = None) -> bool:
    """An independent staff-day check straight from a profile (not the engine's code)."""
    if day in profile.inset_days and day.weekday() < 5:
        return True
    if day.weekday() >= 5 or day in bank_holidays(day.year):
        return False
    year = day.year if day.month >= 9 else day.year - 1
    periods = profile.term_dates.get(year) or (la_periods or {}).get(year) or ()
    return any(p.start <= day <= p.end for p in periods)


def with_changes(profile: rules.SchoolProfile, **changes: Any) -> rules.SchoolProfile:
    """A copy of ``profile`` with ``changes``, validated like any profile."""
    data = profile.model_dump()
    data.update(changes)
    return rules.SchoolProfile.model_validate(data)
