"""Reading a school's spreadsheet: its lines with their numbers, and dates as people write them.

Shared by every CSV import (term dates, the EHCP roster) so each reports a bad line the same way.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any


def rows(reader: Any, max_cell: int) -> Iterator[tuple[int, list[str] | str]]:
    """(line, cells), or (line, why) for a line that cannot be read (and nothing after it)."""
    number = 1
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            why = "a field is too long" if "field larger" in str(exc) else str(exc)
            yield number, f"this line cannot be read ({why}); check it in your spreadsheet."
            return
        if any(len(cell) > max_cell for cell in row):
            yield number, f"a field is too long (over {max_cell:,} characters)."
            return
        if any("\x00" in cell for cell in row):
            yield number, "this line contains a NUL character; save the file as 'CSV UTF-8'."
            return
        yield number, row


def parse_date(text: str) -> dt.date | None:
    """A date written 2026-09-01 or 01/09/2026, or None."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if match:
            return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None
    return None
