"""Rules compiled for evaluation: everything about a rule that does not depend on a school.

:func:`compile_rule` runs once per rule and pack version (see :mod:`rules.memo`); its result
holds the rule's absolute references, source, audience, categories, texts and basis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from rules.event import Reading, Source
from rules.pack import Pack, Reader, Rule, Wording
from rules.vocabulary import AUDIENCE_ORDER, INVOLVES_WORDS, Audience, Basis

ACRONYMS = {"ehcp", "send", "sen", "slt", "ta", "cpd", "ks1", "ks2", "jcq", "la", "mtc", "sats"}


@dataclass(frozen=True, eq=False)
class CompiledRule:
    """A rule with everything that does not depend on the school worked out once.

    ``key`` is a digest of the pack slug and the rule as written: equal keys mean equal
    compiled rules, so results shared between evaluations are keyed by it (never by ``id``).
    """

    pack: str
    rule: Rule
    key: str
    ref: str
    source: Source | None
    audience: tuple[Audience, ...]
    categories: tuple[str, ...]
    description: str
    wording: tuple[Reading, ...]
    basis: Basis
    prep_basis: Basis  # what a prep task is unless it says
    date_key: str | None  # set when each of the school's dates under this key is an occurrence


def compile_rule(pack: Pack, rule: Rule) -> CompiledRule:
    """Prepare ``rule`` of ``pack`` for evaluation (local ``after:`` refs made absolute)."""
    # Everything below derives from the slug and the rule alone, so they make the key.
    written = f"{pack.pack}\n{rule.model_dump_json()}".encode()
    key = hashlib.sha256(written).hexdigest()
    if rule.when is not None:
        rule = rule.model_copy(update={"when": _absolute(rule.when, pack.pack)})
    source = None
    if rule.source is not None:
        url = str(rule.source.url) if rule.source.url is not None else None
        source = Source(rule.source.title, url)
    categories = [display_category(rule.kind.value), display_category(rule.category)]
    if rule.optional:
        categories.append("Optional")
    tail = ""
    if rule.involves:
        words = ", ".join(INVOLVES_WORDS[i] for i in rule.involves)
        tail += f"\n\nInvolves: {words}."
    if rule.optional:
        tail += "\n\nOptional: do it if it helps."
    description = rule.description.strip() + tail
    date_key = None
    if rule.repeat is None and rule.when is not None and rule.when.base == "school_date":
        date_key = rule.when.school_date
    return CompiledRule(
        pack=pack.pack,
        rule=rule,
        key=key,
        date_key=date_key,
        ref=f"{pack.pack}:{rule.id}",
        source=source,
        audience=with_senco(rule.audience),
        categories=tuple(dict.fromkeys(categories)),
        description=description.strip(),
        wording=readings(rule.wording, tail),
        basis=rule_basis(pack, rule),
        prep_basis=Basis.LA_PRACTICE if pack.publisher.kind == "la" else Basis.GOOD_PRACTICE,
    )


def rule_basis(pack: Pack, rule: Rule) -> Basis:
    """What a rule's date rests on: as written, else statutory or the publisher's practice."""
    if rule.basis is not None:
        return rule.basis
    if rule.statutory:
        return Basis.STATUTORY
    return Basis.LA_PRACTICE if pack.publisher.kind == "la" else Basis.GOOD_PRACTICE


def readings(wording: Mapping[Reader, Wording], tail: str = "") -> tuple[Reading, ...]:
    """The per-audience words of a rule or prep, in audience order."""
    by_name = {str(k): v for k, v in wording.items()}
    return tuple(
        Reading(
            a, by_name[a.value].title.strip(), (by_name[a.value].description.strip() + tail).strip()
        )
        for a in AUDIENCE_ORDER
        if a.value in by_name
    )


def _absolute(expr: object, pack_slug: str) -> object:
    from rules.expr import DateExpr

    assert isinstance(expr, DateExpr)
    update: dict[str, object] = {}
    if expr.after is not None and ":" not in expr.after:
        update["after"] = f"{pack_slug}:{expr.after}"
    if expr.fallback is not None:
        update["fallback"] = _absolute(expr.fallback, pack_slug)
    return expr.model_copy(update=update) if update else expr


def with_senco(audience: tuple[Audience, ...]) -> tuple[Audience, ...]:
    """``audience`` with the SENCO added (the SENCO gets everything), in feed order."""
    wanted = set(audience) | {Audience.SENCO}
    return tuple(a for a in AUDIENCE_ORDER if a in wanted)


def display_category(slug: str) -> str:
    """``ehcp-reviews`` -> ``EHCP reviews``."""
    words = slug.replace("_", "-").split("-")
    shown = [w.upper() if w in ACRONYMS else w for w in words]
    text = " ".join(shown)
    return text[:1].upper() + text[1:]
