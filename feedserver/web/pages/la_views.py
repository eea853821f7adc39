"""An LA officer's pages: its schools and packs, upload and check, dry run, publish, history.

Upload a pack and it is checked at once (every problem with its line, shown beside the file's
own lines); a pack without problems can be dry-run (what it would change at each school), then
published with a note for schools. Publishing answers at once and the progress page says how
many schools have it so far. The same actions as ``/api/la/<code>``, through
:mod:`feedserver.pipeline.lapublish`. Another LA's pages answer 404 like a missing one.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from feedserver.pipeline import dryrun, lapublish
from feedserver.storage import la_view, packstore
from feedserver.storage.models import DryRun, LocalAuthority, PackVersion
from feedserver.web.context import services
from feedserver.web.pages import access, fmt
from feedserver.web.pages.blueprint import bp

MAX_SHOWN_LINES = 2000  # a pack's lines shown beside its problems


def who(actor: str) -> str:
    """The person or key in an audit actor (``la:999:Sam Patel`` -> ``Sam Patel``)."""
    parts = actor.split(":")
    if parts[0] == "la" and len(parts) >= 3:
        return ":".join(parts[2:]) or "an officer"
    if parts[0] == "admin":
        return "the sencocal admin"
    return ":".join(parts[1:]) or actor


def _packs(db: Session, la_code: str) -> list[dict[str, Any]]:
    out = []
    for slug in la_view.la_slugs(db, la_code):
        live = packstore.live(db, slug)
        if live is None:
            continue
        out.append({"slug": slug, "title": packstore.pack_of(live).title, "live": live})
    return out


def _home(db: Session, viewer: access.Viewer, la: LocalAuthority, status: int = 200,
          **extra: Any) -> Any:  # fmt: skip
    context: dict[str, Any] = {"error": None, "notice": None, **extra}
    return render_template(
        "la_home.html", viewer=viewer, la=la, schools=la_view.schools_of(db, la.code),
        packs=_packs(db, la.code), **context,
    ), status  # fmt: skip


@bp.get("/la/<la_code>")
@access.required()
def la_home(db: Session, viewer: access.Viewer, la: LocalAuthority) -> Any:
    """The LA's schools (names, URNs, counts) and packs, with the upload forms."""
    return _home(db, viewer, la)


def _uploaded(field: str) -> tuple[str, str] | None:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        return None
    data = upload.read()
    try:
        return data.decode("utf-8"), upload.filename[:100]
    except UnicodeDecodeError:
        return None


def _checked(db: Session, viewer: access.Viewer, la: LocalAuthority, text: str,
             filename: str) -> Any:  # fmt: skip
    """The check page: problems beside the file's lines, or the way on to a dry run."""
    problems: list[rules.PackError] = []
    error = None
    pack = None
    try:
        pack = lapublish.check(db, la.code, text, filename)
    except rules.PackRejected as exc:
        problems = list(exc.problems)
    except rules.SencocalInputError as exc:
        error = fmt.sentence(str(exc))
    lines = text.splitlines()[:MAX_SHOWN_LINES]
    marked: dict[int, list[rules.PackError]] = {}
    for p in problems:
        if p.line is not None:
            marked.setdefault(p.line, []).append(p)
    status = 200 if pack is not None else 422
    return render_template(
        "la_check.html", viewer=viewer, la=la, pack=pack, problems=problems, error=error,
        filename=filename, lines=lines, marked=marked, content=text,
    ), status  # fmt: skip


@bp.post("/la/<la_code>/check")
@access.required()
def la_check(db: Session, viewer: access.Viewer, la: LocalAuthority) -> Any:
    """Check an uploaded pack: store nothing, show every problem with its line."""
    found = _uploaded("pack")
    if found is None:
        return _home(db, viewer, la, 422, error="Choose the pack's YAML file to upload.",
                     error_field="pack-file")  # fmt: skip
    return _checked(db, viewer, la, *found)


@bp.post("/la/<la_code>/dry-runs")
@access.required()
def la_start_dry_run(db: Session, viewer: access.Viewer, la: LocalAuthority) -> Any:
    """Work out what the checked pack would change at each school (a job for a large LA)."""
    text = request.form.get("content", "")
    filename = request.form.get("filename", "pack.yaml")[:100]
    try:
        run = lapublish.dry_run(db, la.code, text, filename, viewer.actor,
                                services().clock.now())  # fmt: skip
    except rules.SencocalInputError:
        return _checked(db, viewer, la, text, filename)
    db.commit()
    return redirect(url_for("pages.la_dry_run", la_code=la.code, run_id=run.id), 303)


def _effects(run: DryRun) -> list[dryrun.SchoolEffect]:
    effects = [dryrun.SchoolEffect.from_json(r) for r in run.results.get("schools", [])]
    return sorted(effects, key=lambda e: (not e.affected, e.name))


@bp.get("/la/<la_code>/dry-runs/<int:run_id>")
@access.required()
def la_dry_run(db: Session, viewer: access.Viewer, la: LocalAuthority, run_id: int) -> Any:
    """A dry run: its progress, then what would change at each school, and the publish form."""
    run = db.get(DryRun, run_id)
    if run is None or run.la_code != la.code:
        return render_template("not_found.html", viewer=viewer), 404
    effects = _effects(run)
    totals = {k: sum(getattr(e, k) for e in effects) for k in ("added", "moved", "reworded",
                                                               "removed")}  # fmt: skip
    live = packstore.live(db, run.slug)
    title = rules.load_pack(run.content, f"{run.slug}.yaml").title
    return render_template(
        "la_dry_run.html", viewer=viewer, la=la, run=run, effects=effects, totals=totals,
        affected=sum(1 for e in effects if e.affected), live=live, title=title,
    )  # fmt: skip


@bp.post("/la/<la_code>/dry-runs/<int:run_id>/publish")
@access.required()
def la_publish(db: Session, viewer: access.Viewer, la: LocalAuthority, run_id: int) -> Any:
    """Publish the dry-run pack with the officer's note; answer with its progress page."""
    run = db.get(DryRun, run_id)
    if run is None or run.la_code != la.code:
        return render_template("not_found.html", viewer=viewer), 404
    try:
        version, _ = lapublish.publish(db, la.code, run.content, f"{run.slug}.yaml",
                                       request.form.get("note", ""), viewer.actor,
                                       services().clock.now())  # fmt: skip
    except rules.SencocalInputError as exc:
        return _home(db, viewer, la, 422, error=fmt.sentence(str(exc)))
    db.commit()
    return redirect(url_for("pages.la_progress", la_code=la.code, slug=version.slug,
                            revision=version.revision), 303)  # fmt: skip


def _version(db: Session, la: LocalAuthority, slug: str, revision: int) -> PackVersion | None:
    if not lapublish.owns(db, la.code, slug):
        return None
    return db.scalars(
        select(PackVersion).where(PackVersion.slug == slug, PackVersion.revision == revision)
    ).first()


@bp.get("/la/<la_code>/packs/<slug>/revisions/<int:revision>")
@access.required()
def la_progress(
    db: Session, viewer: access.Viewer, la: LocalAuthority, slug: str, revision: int
) -> Any:
    """How many of the LA's schools have a publication so far."""
    version = _version(db, la, slug, revision)
    if version is None:
        return render_template("not_found.html", viewer=viewer), 404
    return render_template(
        "la_progress.html", viewer=viewer, la=la, version=version,
        title=packstore.pack_of(version).title, progress=lapublish.progress(db, version),
        by=who(version.created_by),
    )  # fmt: skip


@bp.get("/la/<la_code>/packs/<slug>")
@access.required()
def la_history(db: Session, viewer: access.Viewer, la: LocalAuthority, slug: str) -> Any:
    """Every version of one of the LA's packs: who published it, when, with what note."""
    if not lapublish.owns(db, la.code, slug):
        return render_template("not_found.html", viewer=viewer), 404
    versions = packstore.history(db, slug)
    return render_template(
        "la_history.html", viewer=viewer, la=la, slug=slug, versions=versions,
        title=packstore.pack_of(versions[0]).title, who=who,
    )  # fmt: skip


@bp.post("/la/<la_code>/packs/<slug>/revisions/<int:revision>/rollback")
@access.required()
def la_rollback(
    db: Session, viewer: access.Viewer, la: LocalAuthority, slug: str, revision: int
) -> Any:
    """Publish an earlier version again as a new revision; answer with its progress page."""
    if _version(db, la, slug, revision) is None:
        return render_template("not_found.html", viewer=viewer), 404
    try:
        version, _ = lapublish.rollback(db, la.code, slug, revision, request.form.get("note", ""),
                                        viewer.actor, services().clock.now())  # fmt: skip
    except rules.SencocalInputError as exc:
        return _home(db, viewer, la, 422, error=fmt.sentence(str(exc)))
    db.commit()
    return redirect(url_for("pages.la_progress", la_code=la.code, slug=slug,
                            revision=version.revision), 303)  # fmt: skip


@bp.post("/la/<la_code>/term-dates")
@access.required()
def la_term_dates(db: Session, viewer: access.Viewer, la: LocalAuthority) -> Any:
    """Publish the LA's term dates from its CSV or ICS file."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _home(db, viewer, la, 422, error="Choose the term dates file to upload.",
                     error_field="terms-file")  # fmt: skip
    data = upload.read()
    kind = "ics" if upload.filename.lower().endswith(".ics") else "csv"
    try:
        version, _ = lapublish.term_dates(db, la, data, kind, request.form.get("note", ""),
                                          viewer.actor, services().clock.now())  # fmt: skip
    except rules.PackRejected as exc:
        errors = [{"field": f"Line {p.line}" if p.line else "", "message": fmt.sentence(p.message)}
                  for p in exc.problems]  # fmt: skip
        return _home(db, viewer, la, 422, error=errors)
    except rules.SencocalInputError as exc:
        return _home(db, viewer, la, 422, error=fmt.sentence(str(exc)))
    db.commit()
    return redirect(url_for("pages.la_progress", la_code=la.code, slug=version.slug,
                            revision=version.revision), 303)  # fmt: skip


@bp.get("/la/<la_code>/schools/<sid>")  # not <school_id>: that names a school's own pages
@access.required()
def la_school(db: Session, viewer: access.Viewer, la: LocalAuthority, sid: str) -> Any:
    """The dates the LA's own packs give one of its schools (and nothing else of the school)."""
    found = la_view.entries(db, la.code, sid)
    if found is None:
        return render_template("not_found.html", viewer=viewer), 404
    school = next(s for s in la_view.schools_of(db, la.code) if s.school_id == sid)
    return render_template("la_school.html", viewer=viewer, la=la, entry_school=school,
                           entries=found)  # fmt: skip
