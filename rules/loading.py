"""Turning a pack file's bytes into a validated :class:`~rules.pack.Pack`, or every problem.

``load_pack(data, filename)`` never raises anything but :class:`~rules.errors.PackRejected`:
YAML problems, schema problems and whole-pack problems are all reported with file, line,
rule id and field, in file order, in one rejection.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rules import yamlsource
from rules.checks import Check, Unchecked, check_pack
from rules.errors import PackError, PackRejected
from rules.expr import DateExpr
from rules.pack import Pack, Rule
from rules.text import control_characters

M = TypeVar("M", bound=BaseModel)

PATTERN_WORDS = {
    "la_code": "must be the DfE three-digit local-authority number, e.g. '330'",
    "urn": "must be the school's 6- or 7-digit URN",
    "school_date": "must be lower case letters, digits, '_' or '-' (e.g. parents_evening)",
    "ref": "must be letters, digits and '-' only (no names: pupils are pseudonymised)",
}


def load_pack(data: bytes | str, filename: str) -> Pack:
    """Parse and validate one pack.

    Args:
        data: the file's content; bytes are checked for UTF-8 here.
        filename: what to call the file in messages (nothing is read from it).

    Returns:
        The validated pack.

    Raises:
        PackRejected: every problem found, each naming file, line, rule and field.
    """
    raw = yamlsource.load(data, filename)
    controls = [_located(filename, raw, c) for c in control_characters(raw)]
    try:
        pack = validate_model(Pack, raw, filename, what="pack")
    except PackRejected as rejected:
        # Report the whole-pack problems of the rules that did validate too, in one rejection.
        extra = [_located(filename, raw, c) for c in check_pack(_partial(raw), partial=True)]
        found = [*controls, *rejected.problems, *extra]
        raise PackRejected(_ordered(_dedupe(found))) from None
    problems = [*controls, *(_located(filename, raw, c) for c in check_pack(pack))]
    if problems:
        raise PackRejected(_ordered(problems))
    return pack


def _located(filename: str, raw: Any, check: Check) -> PackError:
    return PackError(
        file=filename,
        message=check.message,
        line=yamlsource.line_of(raw, check.loc),
        rule_id=_rule_id(raw, check.loc),
        field=_field(check.loc),
        value=check.value,
    )


def _partial(raw: Any) -> Pack:
    """The valid rules of a pack that failed validation, at their original positions."""
    rules: list[Rule | None] = []
    for item in raw.get("rules") or [] if isinstance(raw, Mapping) else []:
        try:
            rules.append(Rule.model_validate(item))
        except ValidationError:
            rules.append(_stand_in(item))
    slug = raw.get("pack") if isinstance(raw, Mapping) and isinstance(raw.get("pack"), str) else ""
    return Pack.model_construct(pack=slug, rules=rules, term_dates=None, publishes=None)


def _stand_in(item: Any) -> Rule | None:
    """What can be kept of a rule that failed the schema: its id, and its date if sound."""
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        return None
    when = None
    try:
        when = DateExpr.model_validate(item.get("when"))
    except ValidationError:
        pass
    fields = {name: info.default for name, info in Rule.model_fields.items()
              if not info.is_required()}  # fmt: skip
    return Unchecked.model_construct(**{**fields, "id": item["id"], "when": when})


def validate_model(model: type[M], raw: Any, filename: str, what: str) -> M:
    """Validate ``raw`` (from :func:`rules.yamlsource.load`) against ``model``.

    Raises:
        PackRejected: one problem per pydantic error, with lines and friendly messages.
    """
    if not isinstance(raw, Mapping):
        shown = "empty" if raw is None else ("a list" if isinstance(raw, list) else f"'{raw}'")
        raise PackRejected(
            [
                PackError(
                    file=filename, message=f"a {what} must be a mapping of keys; this is {shown}."
                )
            ]
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(filename, raw, err, model) for err in _merge_literals(exc.errors())]
        raise PackRejected(_ordered(_dedupe(problems))) from None


def _merge_literals(errors: list[Any]) -> list[Any]:
    """One message per field when a value may be one of several literal sets (half: or 'this').

    Also drops "must not be empty" on a list whose items already have their own errors.
    """
    item_locs = {tuple(e["loc"][:-1]) for e in errors if e["loc"] and isinstance(e["loc"][-1], int)}
    errors = [e for e in errors if not (e["type"] == "too_short" and tuple(e["loc"]) in item_locs)]
    # A date-or-[first, last] value that is a bad date: say so, not "expected a list" as well.
    dated = {_plain(e["loc"]) for e in errors if e["type"].startswith("date_")}
    errors = [
        e
        for e in errors
        if not (e["type"] in {"tuple_type", "list_type"} and _plain(e["loc"]) in dated)
    ]
    merged: list[Any] = []
    by_loc: dict[tuple[Any, ...], Any] = {}
    for err in errors:
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        if err["type"] == "literal_error" and loc in by_loc:
            first = by_loc[loc]
            expected = f"{first['ctx']['expected']}, {err['ctx']['expected']}"
            first["ctx"] = {**first["ctx"], "expected": expected.replace(" or ", ", ")}
            continue
        err = dict(err)
        if err["type"] == "literal_error":
            by_loc[loc] = err
        merged.append(err)
    return merged


def _plain(loc: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(p for p in loc if not _is_union_tag(p))


def _ordered(problems: Iterable[PackError]) -> list[PackError]:
    return sorted(problems, key=lambda p: (p.line or 0, p.rule_id or "", p.field or ""))


def _dedupe(problems: Iterable[PackError]) -> list[PackError]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


def _problem(filename: str, raw: Any, err: Mapping[str, Any], model: type[BaseModel]) -> PackError:
    loc: tuple[int | str, ...] = tuple(p for p in err["loc"] if not _is_union_tag(p))
    return PackError(
        file=filename,
        message=_message(err, raw, loc),
        line=yamlsource.line_of(raw, loc),
        rule_id=_rule_id(raw, loc),
        field=_field(loc),
        value=_shown_value(err.get("input")),
    )


def _is_union_tag(part: int | str) -> bool:
    # pydantic inserts the union member's name ("date", "tuple[date, date]") into locations.
    return isinstance(part, str) and ("[" in part or part in {"date", "function-after[_lower()]"})


def _shown_value(value: Any) -> Any:
    if isinstance(value, (Mapping, list, tuple)):
        return None
    return value


def _rule_id(raw: Any, loc: Sequence[int | str]) -> str | None:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = raw.get("rules") if isinstance(raw, Mapping) else None
        if isinstance(rules, list) and 0 <= loc[1] < len(rules):
            rule = rules[loc[1]]
            if isinstance(rule, Mapping) and isinstance(rule.get("id"), str):
                return str(rule["id"])
            return f"#{loc[1] + 1}"
    return None


def _field(loc: Sequence[int | str]) -> str | None:
    parts = list(loc[2:]) if len(loc) >= 2 and loc[0] == "rules" else list(loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _message(err: Mapping[str, Any], raw: Any, loc: tuple[int | str, ...]) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = loc[-1] if loc else value
        hint = _suggest(raw, loc)
        return f"unknown key '{key}'" + (f"; did you mean '{hint}'?" if hint else ".")
    if kind == "missing":
        return "required; add it."
    if kind in {"literal_error", "enum"}:
        expected = str(ctx.get("expected", "")).replace("'", "")
        head, _, tail = expected.rpartition(", ")
        expected = f"{head} or {tail}" if head and " or " not in expected else expected
        text = f"'{value}' is not allowed here; use one of: {expected}."
        if loc and loc[-1] == "nth":
            text += " Not every month has a 5th weekday: use 'last'."
        if (
            "audience" in loc
            and isinstance(value, str)
            and value in {"parents", "exams", "data", "la", "LA"}
        ):
            text += f" Name {value} under 'involves' instead; the SENCO's feed carries it."
        return text
    if kind == "string_pattern_mismatch":
        name = loc[-1] if loc else ""
        if name in PATTERN_WORDS:
            return f"'{value}' {PATTERN_WORDS[str(name)]}."
        extra = " (ids may also use '.' and '_')" if name == "id" else ""
        return f"'{value}' must be lower case letters and digits joined by '-'{extra}."
    if kind == "value_error":
        return str(ctx.get("error", err["msg"])).removeprefix("Value error, ") + "."
    if kind.startswith("date_") or kind in {
        "date_type",
        "date_parsing",
        "date_from_datetime_parsing",
    }:
        return _date_message(value)
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"'{value}' is not a whole number."
    if kind in {"float_parsing", "float_type"}:
        return f"'{value}' is not a number."
    if kind in {"bool_parsing", "bool_type"}:
        return f"'{value}' is not true or false."
    if kind in {"string_type"}:
        return f"expected text, got {_kind_of(value)}."
    if kind in {"list_type", "tuple_type"}:
        example = f"[{value}]" if isinstance(value, (str, int)) else "[...]"
        return f"expected a list, e.g. {example}; got {value!r}."
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return f"expected keys and values (key: value), got {_kind_of(value)}."
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return f"{value} is out of range ({err['msg'].lower()})."
    if kind in {"too_short", "string_too_short"}:
        return "must not be empty."
    if kind == "string_too_long":
        return f"too long ({err['msg'].lower()})."
    if kind.startswith("url"):
        return f"'{value}' is not a web address; write it as https://..."
    if kind.startswith("time"):
        return f"'{value}' is not a time; write it as HH:MM (e.g. 15:45)."
    return str(err["msg"]) + "."


def _kind_of(value: Any) -> str:
    """What a value is, in words: ``a list``, ``the number 3``, ``true or false``."""
    if isinstance(value, bool):
        return f"'{str(value).lower()}' (true or false)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, Mapping):
        return "keys and values"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {value.isoformat()}"
    return f"'{value}'"


def _date_message(value: Any) -> str:
    """Why ``value`` is no date, and how to write one."""
    found = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", str(value))
    if found:
        year, month, day = (int(g) for g in found.groups())
        if not 1 <= month <= 12:
            return f"'{value}' is not a real date: there is no month {month}."
        days = calendar.monthrange(year, month)[1]
        if not 1 <= day <= days:
            name = calendar.month_name[month]
            return f"'{value}' is not a real date: {name} {year} has {days} days."
    return f"'{value}' is not a date; write it as YYYY-MM-DD (e.g. 2027-02-14)."


def _suggest(raw: Any, loc: tuple[int | str, ...]) -> str:
    if not loc:
        return ""
    key = str(loc[-1])
    from rules.pack import Pack  # local: the schema names every key an author may write

    names = _known_keys(Pack)
    close = difflib.get_close_matches(key, sorted(names), n=1, cutoff=0.75)
    return close[0] if close else ""


def _known_keys(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        for arg in _model_args(info.annotation):
            names |= _known_keys(arg, seen)
    return names


def _model_args(annotation: Any) -> list[type[BaseModel]]:
    out: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        out.extend(_model_args(arg))
    return out
