"""Characters no text in a pack or a school profile may hold, and the check that finds them.

Control characters (C0 except TAB and line breaks, DEL, C1), NUL and the Unicode line and
paragraph separators (U+2028, U+2029) break calendar files: the ``ics`` library refuses a feed
that holds one, and a line splitter that honours U+2028 would read text after it as new
calendar lines. They are refused where input arrives, with the field that holds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from rules.checks import Check

# TAB (U+0009), LF (U+000A) and CR (U+000D) are ordinary text; everything else below U+0020,
# DEL and the C1 block are not, nor are the two Unicode separators.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")

_NAMES = {"\x00": "a NUL character", "\u2028": "a line separator (U+2028)",
          "\u2029": "a paragraph separator (U+2029)"}  # fmt: skip


def describe(char: str) -> str:
    """Name a forbidden character for people: ``a control character (U+0007)``."""
    return _NAMES.get(char, f"a control character (U+{ord(char):04X})")


def first_forbidden(text: str) -> str | None:
    """The first forbidden character in ``text``, or None."""
    found = FORBIDDEN.search(text)
    return found.group() if found else None


def clean(text: str) -> str:
    """``text`` without forbidden characters (the ICS writer's last line of defence)."""
    return FORBIDDEN.sub("", text)


def control_characters(raw: Any) -> Iterator[Check]:
    """A :class:`~rules.checks.Check` for every key or text value holding a forbidden character.

    Args:
        raw: data as loaded from YAML or JSON (mappings, lists, scalars).
    """
    yield from _walk(raw, ())


def _walk(node: Any, loc: tuple[int | str, ...]) -> Iterator[Check]:
    if isinstance(node, str):
        char = first_forbidden(node)
        if char is not None:
            yield Check(loc, "the text " + _message(char), None)
    elif isinstance(node, Mapping):
        for key, value in node.items():
            here = (*loc, key if isinstance(key, (str, int)) else str(key))
            if isinstance(key, str) and (char := first_forbidden(key)) is not None:
                yield Check(here, "the key " + _message(char), None)
            yield from _walk(value, here)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, (*loc, i))


def _message(char: str) -> str:
    return (
        f"holds {describe(char)}, which calendar apps cannot show; delete it "
        "(it often comes from text pasted from another program)."
    )
