"""One-line text that people type (names, labels, email addresses), checked before it is kept.

Control characters are refused, not stripped: a NUL cannot be stored by PostgreSQL at all (it
was a 500), and a line break in a name breaks every page and file it is written into.
"""

from __future__ import annotations

import unicodedata

from rules.errors import SencocalInputError


class PlainTextError(SencocalInputError):
    """Text that cannot be kept as given (the message names the field and the limit)."""


def one_line(text: object, what: str, limit: int, *, required: bool = False) -> str:
    """``text`` with its spaces tidied, or PlainTextError naming ``what``.

    Raises:
        PlainTextError: not text, a control character, empty when ``required``, too long.
    """
    if not isinstance(text, str):
        raise PlainTextError(f"the {what} must be text.")
    if any(unicodedata.category(c) in {"Cc", "Cs"} and c not in "\t\n\r" for c in text):
        raise PlainTextError(f"the {what} contains a control character; type it again.")
    tidy = " ".join(text.split())
    if required and not tidy:
        raise PlainTextError(f"give the {what} (up to {limit} characters).")
    if len(tidy) > limit:
        raise PlainTextError(f"the {what} is too long: up to {limit} characters.")
    return tidy
