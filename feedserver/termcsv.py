"""Term dates from a spreadsheet: the CSV template, parsing it, and merging it into a profile.

Columns ``academic_year,label,start,end``. Labels are the six half terms (``autumn1`` ...
``summer2``), ``inset`` (INSET days, one row per day or a range) and ``closure`` (days the
school is closed in term, such as a polling day). Dates as 2026-09-01 or 01/09/2026.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import rules
from rules.csvlines import parse_date
from rules.csvlines import rows as csv_rows
from rules.errors import PackError, PackRejected
from rules.profile import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_CLOSURES_PER_YEAR,
    MAX_INSET_PER_YEAR,
)
from rules.vocabulary import HALF_LABELS

COLUMNS = ["academic_year", "label", "start", "end"]
FILENAME = "term-dates.csv"
TEMPLATE = """academic_year,label,start,end
2026,autumn1,2026-09-02,2026-10-23
2026,autumn2,2026-11-02,2026-12-18
2026,spring1,2027-01-04,2027-02-12
2026,spring2,2027-02-22,2027-03-25
2026,summer1,2027-04-12,2027-05-28
2026,summer2,2027-06-07,2027-07-21
2026,inset,2026-09-01,2026-09-01
2026,inset,2026-11-02,2026-11-02
2026,inset,2027-06-07,2027-06-07
2026,closure,2027-05-06,2027-05-06
"""


@dataclass
class TermDates:
    """What a CSV says, by academic year."""

    periods: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    inset: dict[int, set[dt.date]] = field(default_factory=lambda: defaultdict(set))
    closures: dict[int, set[dt.date]] = field(default_factory=lambda: defaultdict(set))

    @property
    def years(self) -> set[int]:
        """Every academic year the file mentions."""
        return set(self.periods) | set(self.inset) | set(self.closures)


def parse(data: bytes | str) -> TermDates:
    """Read the CSV; every problem is reported with its line and column.

    Raises:
        PackRejected: the file is not the template's shape or has bad values.
    """
    text = data.decode("utf-8-sig", errors="strict") if isinstance(data, bytes) else data
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    problems: list[PackError] = []
    out = TermDates()
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != COLUMNS:
        got = ",".join(header or [])
        raise PackRejected(
            [
                PackError(
                    FILENAME,
                    f"the first line must be exactly {','.join(COLUMNS)} (found '{got}'); "
                    "download the template.",
                    1,
                )
            ]
        )
    rows = csv_rows(reader, MAX_CELL)
    counted: dict[tuple[int, str], int] = {}
    for number, row in rows:
        if isinstance(row, str):  # the csv module refused the line
            problems.append(PackError(FILENAME, row, number))
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 4:
            problems.append(PackError(FILENAME, f"expected 4 columns, found {len(row)}.", number))
            continue
        year_text, label, start_text, end_text = (cell.strip() for cell in row)
        year = _year(year_text)
        if year is None:
            problems.append(
                PackError(
                    FILENAME,
                    f"'{year_text}' is not an academic year from {FIRST_YEAR} to {LAST_YEAR} "
                    "(write 2026 or 2026/27).",
                    number,
                    field="academic_year",
                    value=year_text,
                )
            )
            continue
        label = label.lower()
        if label not in (*HALF_LABELS, "inset", "closure"):
            problems.append(
                PackError(
                    FILENAME,
                    f"'{label}' is not a label; use autumn1 ... summer2, inset or closure.",
                    number,
                    field="label",
                    value=label,
                )
            )
            continue
        start, end = parse_date(start_text), parse_date(end_text or start_text)
        for name, value, text_value in (("start", start, start_text), ("end", end, end_text)):
            if value is None:
                problems.append(
                    PackError(
                        FILENAME,
                        f"'{text_value}' is not a date; write 2026-09-01 or 01/09/2026.",
                        number,
                        field=name,
                        value=text_value,
                    )
                )
        if start is None or end is None:
            continue
        if end < start:
            problems.append(
                PackError(
                    FILENAME, "the end is before the start.", number, field="end", value=end_text
                )
            )
            continue
        first, last = dt.date(year, 9, 1), dt.date(year + 1, 8, 31)
        if not (first <= start <= last and first <= end <= last):
            problems.append(
                PackError(
                    FILENAME,
                    f"{start_text} to {end_text} is not inside {year}/{(year + 1) % 100:02d} "
                    f"(1 Sep {year} to 31 Aug {year + 1}).",
                    number,
                    field="start",
                    value=start_text,
                )
            )
            continue
        if label in HALF_LABELS:
            out.periods[year].append({"label": label, "start": start, "end": end})
        else:
            days = out.inset[year] if label == "inset" else out.closures[year]
            day = start
            while day <= end:
                if day.weekday() < 5:
                    days.add(day)
                day += dt.timedelta(days=1)
            limit = MAX_INSET_PER_YEAR if label == "inset" else MAX_CLOSURES_PER_YEAR
            if len(days) > limit and (year, label) not in counted:
                counted[(year, label)] = number
                what = "INSET days" if label == "inset" else "closure days"
                problems.append(
                    PackError(
                        FILENAME,
                        f"at most {limit} {what} in {year}/{(year + 1) % 100:02d} "
                        f"({len(days)} by this line).",
                        number,
                        field=label,
                    )
                )
    if problems:
        raise PackRejected(problems)
    if not out.years:
        raise PackRejected([PackError(FILENAME, "no rows after the header; fill in the template.")])
    return out


MAX_CELL = 1000  # no cell of the template needs more


def merged(profile: rules.SchoolProfile, found: TermDates) -> rules.SchoolProfile:
    """``profile`` with the CSV's years replacing its own for those years (validated).

    Raises:
        PackRejected: the merged profile is invalid (e.g. periods overlap), naming the year.
    """
    data = profile.model_dump()
    years = found.years
    term_dates = {y: p for y, p in data["term_dates"].items() if y not in years}
    term_dates.update({y: sorted(p, key=lambda x: x["start"]) for y, p in found.periods.items()})
    data["term_dates"] = term_dates

    def keep(days: Any) -> list[dt.date]:
        return [d for d in days if rules_year(d) not in years]

    data["inset_days"] = sorted(
        [*keep(data["inset_days"]), *(d for s in found.inset.values() for d in s)]
    )
    data["closure_days"] = sorted(
        [*keep(data["closure_days"]), *(d for s in found.closures.values() for d in s)]
    )
    from rules.profile import profile_from_data

    return profile_from_data(data, FILENAME)


def rules_year(day: dt.date) -> int:
    """The academic year of ``day``."""
    return day.year if day.month >= 9 else day.year - 1


def _year(text: str) -> int | None:
    match = re.fullmatch(r"(\d{4})(?:\s*[/-]\s*(\d{2}|\d{4}))?", text)
    if not match:
        return None
    year = int(match.group(1))
    if match.group(2) is not None and int(match.group(2)) % 100 != (year + 1) % 100:
        return None
    return year if FIRST_YEAR <= year <= LAST_YEAR else None
