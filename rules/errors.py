"""Errors a pack or profile author can cause, with the data to say where and how to fix it.

The tree::

    ValueError
     └── SencocalInputError          anything a user typed that sencocal refuses
          ├── PackError              one problem: file, line, rule id, field, value, message
          ├── PackRejected           every PackError found in one file, collected
          └── PackConflict           two packs given to one evaluation share a slug

Callers branch on the type and read the attributes; the message text is for people only.
"""

from __future__ import annotations

from collections.abc import Sequence


class SencocalInputError(ValueError):
    """Base class for input a user supplied that sencocal refuses."""


class PackError(SencocalInputError):
    """One thing wrong with a pack or profile file, located as precisely as we can.

    Attributes:
        file: the file name the caller gave (never read by us).
        message: what is wrong and, where we can tell, what to write instead.
        line: 1-based line in the file, when the problem has one.
        rule_id: the rule the problem is in, when it is inside a rule.
        field: dotted path of the field inside the rule (or the file), e.g. ``when.weekday``.
        value: the offending value as written, when there is one.
    """

    def __init__(
        self,
        file: str,
        message: str,
        line: int | None = None,
        rule_id: str | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.file = file
        self.message = message
        self.line = line
        self.rule_id = rule_id
        self.field = field
        self.value = value
        super().__init__(str(self))

    def __str__(self) -> str:
        """Render as ``file:line: rule <id>, field <f>: message``."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = []
        if self.rule_id:
            parts.append(f"rule {self.rule_id}")
        if self.field:
            parts.append(f"field {self.field}")
        return f"{where}: " + (", ".join(parts) + ": " if parts else "") + self.message

    def __repr__(self) -> str:
        return f"PackError({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PackError) and str(other) == str(self)

    def __hash__(self) -> int:
        return hash(str(self))


class PackRejected(SencocalInputError):
    """A file was refused; ``problems`` holds every :class:`PackError` found, in file order."""

    def __init__(self, problems: Sequence[PackError]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        """One problem per line."""
        return "\n".join(str(p) for p in self.problems)

    @property
    def file(self) -> str:
        """The file that was rejected."""
        return self.problems[0].file if self.problems else "<input>"


class PackConflict(SencocalInputError):
    """Two packs given to one evaluation share a slug (``slug``)."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"two packs are both called '{slug}'; give one another name.")
        self.slug = slug
