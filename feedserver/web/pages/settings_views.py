"""School settings. Every change is shown as its effect on the calendar before it is saved."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

import rules
from feedserver import catalog, termcsv, wording
from feedserver.clock import today
from feedserver.pipeline import jobs, refresh
from feedserver.pipeline.dispatch import enqueue
from feedserver.storage import schools
from feedserver.storage.models import School
from feedserver.web.context import services
from feedserver.web.pages import access, changes
from feedserver.web.pages.blueprint import bp
from rules.csvlines import parse_date
from rules.vocabulary import HALF_LABELS, academic_year_label

SECTIONS = ("term-dates", "inset", "named-dates", "packs", "rules", "local-events")


def _context(db: Session, school: School) -> dict[str, Any]:
    profile = schools.profile_of(school)
    years = refresh.window(today(services().clock))
    packs = schools.packs_for(db, profile)
    la_periods: dict[int, Any] = {}
    date_keys: dict[str, str] = {}
    for pack, _ in packs:
        if pack.publisher.kind == "la" and pack.publisher.code == profile.la_code:
            la_periods.update(pack.term_dates or {})
        date_keys.update(pack.date_keys or {})
    for key in profile.named_dates:
        date_keys.setdefault(key, key.replace("_", " "))
    terms = {}
    for year in years:
        own = profile.term_dates.get(year)
        source = "your school" if own else ("your LA" if year in la_periods else None)
        periods = {p.label: p for p in (own or la_periods.get(year) or ())}
        terms[year] = {"source": source, "periods": periods}
    builtin = [(p.pack, p.title, p.pack not in profile.packs_off) for p in catalog.builtin_packs()]
    rule_groups = [
        (pack, [(rule, f"{pack.pack}:{rule.id}") for rule in pack.rules])
        for pack, _ in packs
        if pack.rules
    ]
    return {
        "profile": profile,
        "years": years,
        "terms": terms,
        "labels": HALF_LABELS,
        "date_keys": dict(sorted(date_keys.items())),
        "builtin": builtin,
        "rule_groups": rule_groups,
        "override_year": years[0],
    }


@bp.get("/schools/<school_id>/settings")
@access.required()
def settings(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Everything a school can set."""
    return render_template(
        "settings.html",
        viewer=viewer,
        school=school,
        problems=[],
        saved=request.args.get("saved"),
        **_context(db, school),
    )


def _dates(field: str, text: str) -> list[dt.date]:
    out = []
    for number, line in enumerate(text.replace(",", "\n").splitlines(), start=1):
        if not line.strip():
            continue
        day = parse_date(line)
        if day is None:
            raise rules.PackRejected(
                [
                    rules.PackError(
                        "your change",
                        f"line {number}: '{line.strip()}' is not a date; "
                        "write 2026-09-01 or 01/09/2026.",
                        field=field,
                    )
                ]
            )
        out.append(day)
    return sorted(set(out))


def _year(form: Any) -> int:
    """The academic year a form is about: one of the two the settings page offers."""
    text = form.get("year", "")
    years = refresh.window(today(services().clock))
    if not text.isdigit() or int(text) not in years:
        choices = " or ".join(academic_year_label(y) for y in years)
        raise rules.PackRejected(
            [rules.PackError("your change", f"choose the year: {choices}.", field="year")]
        )
    return int(text)


def _proposal(section: str, profile: rules.SchoolProfile, form: Any) -> tuple[dict[str, Any], str]:
    """The profile fields a section's form changes, and a one-line summary."""
    if section == "term-dates":
        year = _year(form)
        term_dates = {y: list(p) for y, p in profile.model_dump(mode="json")["term_dates"].items()}
        if form.get("use_la"):
            term_dates.pop(year, None)
            return {
                "term_dates": term_dates
            }, f"Use your LA's term dates for {rules.vocabulary.academic_year_label(year)}"
        periods = []
        for label in HALF_LABELS:
            start, end = (
                parse_date(form.get(f"{label}_start", "")),
                parse_date(form.get(f"{label}_end", "")),
            )
            if start is None or end is None:
                raise rules.PackRejected(
                    [
                        rules.PackError(
                            "your change",
                            "give a start and an end date for every half term.",
                            field=f"{label}",
                        )
                    ]
                )
            periods.append({"label": label, "start": start.isoformat(), "end": end.isoformat()})
        term_dates[year] = periods
        return {
            "term_dates": term_dates
        }, f"Set your own term dates for {rules.vocabulary.academic_year_label(year)}"
    if section == "inset":
        return {
            "inset_days": [d.isoformat() for d in _dates("inset_days", form.get("inset_days", ""))],
            "closure_days": [
                d.isoformat() for d in _dates("closure_days", form.get("closure_days", ""))
            ],
        }, "Change INSET and closure days"
    if section == "named-dates":
        named = {}
        for key in form.getlist("keys"):
            dates = _dates(f"named_dates.{key}", form.get(f"named_{key}", ""))
            if dates:
                named[key] = [d.isoformat() for d in dates]
        return {
            "named_dates": named
        }, "Change your school's dates (parents' evenings, meetings, ...)"
    if section == "packs":
        on = set(form.getlist("pack_on"))
        off = [p.pack for p in catalog.builtin_packs() if p.pack not in on]
        return {"packs_off": off}, "Change which built-in packs apply"
    if section == "rules":
        year = _year(form)
        shown = form.getlist("rule")
        on = set(form.getlist("rule_on"))
        rules_off = sorted(
            {r for r in profile.rules_off if r not in shown} | {r for r in shown if r not in on}
        )
        overrides = {
            k: dict(v) for k, v in profile.model_dump(mode="json")["date_overrides"].items()
        }
        for ref in shown:
            text = form.get(f"date_{ref}", "").strip()
            by_year = overrides.setdefault(ref, {})
            by_year.pop(str(year), None)
            if text:
                day = parse_date(text)
                if day is None:
                    raise rules.PackRejected(
                        [
                            rules.PackError(
                                "your change",
                                f"'{text}' is not a date; write 2026-09-01 or 01/09/2026.",
                                field=f"date_overrides.{ref}",
                            )
                        ]
                    )
                by_year[str(year)] = day.isoformat()
            if not by_year:
                overrides.pop(ref)
        return {
            "rules_off": rules_off,
            "date_overrides": overrides,
        }, "Turn rules on or off, or set your own dates"
    if section == "local-events":
        kept = [
            e
            for e in profile.model_dump(mode="json")["local_events"]
            if e["id"] not in set(form.getlist("remove"))
        ]
        title = form.get("title", "").strip()
        if title:
            start = parse_date(form.get("start", ""))
            end_text = form.get("end", "").strip()
            end = parse_date(end_text) if end_text else None
            if start is None or (end_text and end is None):
                raise rules.PackRejected(
                    [
                        rules.PackError(
                            "your change",
                            "give the date as 2026-09-01 or 01/09/2026.",
                            field="local_events.start",
                        )
                    ]
                )
            ident = _slug(title, {e["id"] for e in kept})
            kept.append(
                {
                    "id": ident,
                    "title": title,
                    "description": form.get("description", "").strip(),
                    "kind": form.get("kind", "event"),
                    "start": start.isoformat(),
                    "end": end.isoformat() if end else None,
                    "audience": form.getlist("audience") or ["senco"],
                }
            )
        return {"local_events": kept}, "Change your one-off events"
    abort(404)


def _slug(title: str, taken: set[str]) -> str:
    import re

    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "event"
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}-{n}", n + 1
    return ident


def _check(
    db: Session, viewer: access.Viewer, school: School, after: rules.SchoolProfile, summary: str
) -> Any:
    effect = changes.effect(db, school, after, today(services().clock))
    token = changes.seal(school, after, summary)
    return render_template(
        "check_change.html",
        viewer=viewer,
        school=school,
        effect=effect,
        token=token,
        summary=summary,
        words=wording,  # the template words the warnings a change causes or clears
    )


def _refused(
    db: Session, viewer: access.Viewer, school: School, rejected: rules.PackRejected
) -> Any:
    problems = [
        {"field": p.field or "", "message": p.message, "line": p.line} for p in rejected.problems
    ]
    return render_template(
        "settings.html",
        viewer=viewer,
        school=school,
        problems=problems,
        saved=None,
        **_context(db, school),
    ), 422


@bp.post("/schools/<school_id>/settings/<section>")
@access.required()
def propose(db: Session, viewer: access.Viewer, school: School, section: str) -> Any:
    """Show what a settings change would do to the calendar (nothing is saved yet)."""
    if section not in SECTIONS:
        abort(404)
    profile = schools.profile_of(school)
    try:
        fields, summary = _proposal(section, profile, request.form)
        after = changes.with_changes(profile, **fields)
    except rules.PackRejected as rejected:
        return _refused(db, viewer, school, rejected)
    return _check(db, viewer, school, after, summary)


@bp.post("/schools/<school_id>/term-dates-csv")
@access.required()
def propose_csv(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Term dates from the CSV template: shown as a change to check before saving."""
    upload = request.files.get("csv")
    if upload is None or not upload.filename:
        return _refused(
            db,
            viewer,
            school,
            rules.PackRejected([rules.PackError(termcsv.FILENAME, "choose a CSV file to upload.")]),
        )
    try:
        found = termcsv.parse(upload.read())
        after = termcsv.merged(schools.profile_of(school), found)
    except UnicodeDecodeError:
        return _refused(
            db,
            viewer,
            school,
            rules.PackRejected(
                [
                    rules.PackError(
                        termcsv.FILENAME,
                        "the file is not UTF-8 text; save it as 'CSV UTF-8' from your spreadsheet.",
                    )
                ]
            ),
        )
    except rules.PackRejected as rejected:
        return _refused(db, viewer, school, rejected)
    years = ", ".join(rules.vocabulary.academic_year_label(y) for y in sorted(found.years))
    return _check(
        db, viewer, school, after, f"Import term dates for {years} from {upload.filename}"
    )


@bp.post("/schools/<school_id>/settings/apply")
@access.required()
def apply(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Save a change the person has seen the effect of."""
    school_id = school.id
    try:
        after, summary = changes.unseal(school, request.form.get("proposal", ""))
    except changes.StaleProposal as exc:
        return render_template(
            "settings.html",
            viewer=viewer,
            school=school,
            problems=[{"field": "", "message": str(exc), "line": None}],
            saved=None,
            **_context(db, school),
        ), 409
    schools.save(db, after, viewer.actor, services().clock.now())
    enqueue(jobs.evaluate_school, school_id, reason="profile")
    return redirect(url_for("pages.settings", school_id=school_id, saved=summary))
