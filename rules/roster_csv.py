"""Reading an EHCP roster from a spreadsheet (CSV) or from records, every problem at once.

Columns (any order, a header line first): ``ref``, ``year_group``, ``plan_issued`` (needed),
``under_5``, ``last_review_meeting``, ``last_review_decision``, ``booked_meeting``,
``transfer`` (may be left out or empty). Dates as 2026-09-01 or 01/09/2026; ``year_group`` a
number from -2 to 14, or R (reception) or N (nursery); ``under_5`` yes or no; ``transfer``
school, post16 or empty. A column that would hold a name (``name``, ``surname``, ...) or a
reference that looks like one is refused: the roster keeps the school's own codes only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rules.csvlines import parse_date, rows
from rules.errors import PackError, PackRejected
from rules.roster import MAX_PUPILS, REF_PATTERN, YEAR_GROUPS, EhcpPupil, Roster

FILENAME = "ehcp-roster.csv"
REQUIRED = ("ref", "year_group", "plan_issued")
OPTIONAL = (
    "under_5",
    "last_review_meeting",
    "last_review_decision",
    "booked_meeting",
    "transfer",
)
COLUMNS = (*REQUIRED, *OPTIONAL)
DATE_FIELDS = ("plan_issued", "last_review_meeting", "last_review_decision", "booked_meeting")
NAME_COLUMNS = frozenset(
    {"name", "names", "pupil_name", "child_name", "full_name", "fullname", "first_name",
     "firstname", "forename", "forenames", "given_name", "surname", "last_name", "lastname",
     "family_name", "legal_name", "preferred_name", "known_as", "date_of_birth", "dob"}
)  # fmt: skip
TEMPLATE = (
    "ref,year_group,under_5,plan_issued,last_review_meeting,last_review_decision,"
    "booked_meeting,transfer\n"
    """P-0412,4,no,2023-03-14,2026-02-10,2026-03-02,,
P-0419,6,no,2021-11-08,2025-11-20,,,school
P-0533,R,yes,2026-05-18,,,,
P-0601,11,no,2019-06-30,2025-12-03,2026-01-06,2027-01-12,post16
"""
)
MAX_CELL = 200  # no cell of the template needs more
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


def parse_csv(data: bytes | str, filename: str = FILENAME) -> Roster:
    """The roster a CSV file holds; every problem is reported with its line and column.

    Raises:
        PackRejected: the file is not UTF-8, not the template's shape, or has bad values
            (every problem, each with ``line`` and ``field``).
    """
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise PackRejected(
            [PackError(filename, "the file is not UTF-8; save it as 'CSV UTF-8'.")]
        ) from None
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise PackRejected(
            [PackError(filename, f"the header cannot be read ({exc}).", 1)]
        ) from None
    if header is None or not any(h.strip() for h in header):
        raise PackRejected(
            [PackError(filename, f"the first line must name the columns: {','.join(COLUMNS)}.", 1)]
        )
    columns = [_column(h) for h in header]
    problems = _header_problems(filename, columns)
    if problems:
        raise PackRejected(problems)
    records: list[tuple[int, dict[str, str]]] = []
    for number, row in rows(reader, MAX_CELL):
        if isinstance(row, str):
            problems.append(PackError(filename, row, number))
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(
                PackError(filename, f"expected {len(columns)} columns, found {len(row)}.", number)
            )
            continue
        records.append((number, dict(zip(columns, (c.strip() for c in row), strict=True))))
    try:
        roster = _roster(filename, records)
    except PackRejected as exc:
        problems.extend(exc.problems)
    if problems:
        raise PackRejected(sorted(problems, key=lambda p: p.line or 0))
    return roster


def parse_records(records: Sequence[Mapping[str, Any]], source: str = "pupils") -> Roster:
    """The roster a list of JSON objects holds (the API); ``line`` is the 1-based item number.

    Raises:
        PackRejected: every problem, each naming the item and its field.
    """
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[PackError] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            problems.append(PackError(source, "each pupil must be an object {...}.", number))
            continue
        names = [_column(str(k)) for k in record]
        found = _header_problems(source, names, line=number)
        if found:
            problems.extend(found)
            continue
        rows.append((number, {_column(str(k)): _text(v) for k, v in record.items()}))
    try:
        roster = _roster(source, rows)
    except PackRejected as exc:
        problems.extend(exc.problems)
    if problems:
        raise PackRejected(sorted(problems, key=lambda p: p.line or 0))
    return roster


def to_record(pupil: EhcpPupil) -> dict[str, Any]:
    """One pupil as the API's JSON object (the same fields as the CSV's columns)."""

    def day(value: dt.date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "ref": pupil.ref,
        "year_group": pupil.year_group,
        "under_5": pupil.under_5,
        "plan_issued": pupil.plan_issued.isoformat(),
        "last_review_meeting": day(pupil.last_review_meeting),
        "last_review_decision": day(pupil.last_review_decision),
        "booked_meeting": day(pupil.booked_meeting),
        "transfer": pupil.transfer,
    }


def _column(header: str) -> str:
    return re.sub(r"[\s-]+", "_", header.strip().lower())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _header_problems(source: str, columns: list[str], line: int = 1) -> list[PackError]:
    problems = []
    for name in columns:
        if name in NAME_COLUMNS:
            problems.append(
                PackError(
                    source,
                    f"sencocal keeps no pupil names or birth dates: remove the '{name}' column "
                    "and identify each pupil by the school's own code in 'ref' (such as P-0412).",
                    line,
                    field=name,
                )
            )
        elif name not in COLUMNS:
            problems.append(
                PackError(
                    source,
                    f"'{name}' is not a roster column; use {', '.join(COLUMNS)}.",
                    line,
                    field=name,
                )
            )
    seen = set()
    for name in columns:
        if name in seen and name in COLUMNS:
            problems.append(
                PackError(source, f"the '{name}' column appears twice.", line, field=name)
            )
        seen.add(name)
    if line == 1 or not problems:
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            problems.append(
                PackError(
                    source,
                    f"missing {', '.join(repr(m) for m in missing)}; download the template.",
                    line,
                    field=missing[0],
                )
            )
    return problems


def _roster(source: str, rows: list[tuple[int, dict[str, str]]]) -> Roster:
    problems: list[PackError] = []
    pupils: list[EhcpPupil] = []
    first_line: dict[str, int] = {}
    for number, row in rows:
        pupil = _pupil(source, number, row, problems)
        if pupil is None:
            continue
        if pupil.ref in first_line:
            problems.append(
                PackError(
                    source,
                    f"'{pupil.ref}' is already on line {first_line[pupil.ref]}; each pupil once.",
                    number,
                    field="ref",
                    value=pupil.ref,
                )
            )
            continue
        first_line[pupil.ref] = number
        pupils.append(pupil)
    if len(pupils) > MAX_PUPILS:
        problems.append(
            PackError(source, f"at most {MAX_PUPILS:,} pupils ({len(pupils):,} given).")
        )
    if problems:
        raise PackRejected(problems)
    return tuple(sorted(pupils, key=lambda p: p.ref))


def _pupil(
    source: str, line: int, row: dict[str, str], problems: list[PackError]
) -> EhcpPupil | None:
    found: list[PackError] = []

    def problem(field: str, message: str, value: str | None = None) -> None:
        found.append(PackError(source, message, line, field=field, value=value))

    ref = row.get("ref", "")
    if not ref:
        problem("ref", "the pupil's reference is empty; write the school's own code (P-0412).")
    elif " " in ref or not re.search(r"\d", ref):
        problem(
            "ref",
            f"'{ref}' looks like a name; sencocal keeps no pupil names. Write the school's own "
            "code for the pupil instead (letters and digits such as P-0412, with a digit).",
            ref,
        )
    elif not re.match(REF_PATTERN, ref):
        problem("ref", f"'{ref}' may hold only letters, digits and '-', up to 40.", ref)
    year = _year_group(row.get("year_group", ""))
    if year is None:
        problem(
            "year_group",
            f"'{row.get('year_group', '')}' is not a year group; write a number from -2 to 14, "
            "R for reception or N for nursery.",
            row.get("year_group", ""),
        )
    under = row.get("under_5", "").lower()
    if under not in _YES | _NO:
        problem("under_5", f"'{row.get('under_5')}' is not yes or no.", row.get("under_5"))
    under_5 = under in _YES
    if under_5 and year is not None and year > 0:
        problem("under_5", f"a pupil in year {year} is not under 5; write no.", row.get("under_5"))
    dates: dict[str, dt.date | None] = {}
    for name in DATE_FIELDS:
        text = row.get(name, "")
        dates[name] = parse_date(text) if text else None
        if text and dates[name] is None:
            problem(name, f"'{text}' is not a date; write 2026-09-01 or 01/09/2026.", text)
    if not row.get("plan_issued"):
        problem("plan_issued", "the date the plan was issued is needed.")
    transfer_text = row.get("transfer", "").lower().replace("-", "")
    if transfer_text not in {"", "school", "post16"}:
        problem(
            "transfer",
            f"'{row.get('transfer')}' is not a transfer; write school, post16 or leave it empty.",
            row.get("transfer"),
        )
    if found:
        problems.extend(found)
        return None
    plan = dates["plan_issued"]
    assert plan is not None and year is not None
    try:
        return EhcpPupil(
            ref=ref,
            year_group=year,
            under_5=under_5,
            plan_issued=plan,
            last_review_meeting=dates["last_review_meeting"],
            last_review_decision=dates["last_review_decision"],
            booked_meeting=dates["booked_meeting"],
            transfer=transfer_text or None,  # type: ignore[arg-type]
        )
    except ValueError as exc:
        field = "last_review_decision" if "decision" in str(exc) else "last_review_meeting"
        problems.append(PackError(source, f"{exc}.", line, field=field))
        return None


def _year_group(text: str) -> int | None:
    words = {"r": 0, "reception": 0, "n": -1, "nursery": -1}
    value = text.strip().lower()
    if value in words:
        return words[value]
    value = value.removeprefix("year").strip()
    if re.fullmatch(r"-?\d{1,2}", value) and int(value) in YEAR_GROUPS:
        return int(value)
    return None
