"""Errors a pack or profile author can cause, with the data to say where and how to fix it.

The tree::

    ValueError
     └── SencocalInputError          anything a user typed that we refuse
          ├── PackError              one problem: file, line, rule id, field, value
          └── PackRejected           every problem found in one file, collected

Callers branch on the type and read the attributes; the message text is for people only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


class SencocalInputError(ValueError):
    """Base class for input a user supplied that sencocal refuses."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can.

    Attributes:
        file: the file name the caller gave (never read by us).
        message: what is wrong and, where we can tell, what to write instead.
        line: 1-based line in the file, when the problem has one.
        rule_id: the rule the problem is in, when it is inside a rule.
        field: dotted path of the field inside the rule (or the file), e.g. ``when.weekday``.
        value: the offending value as written, when there is one.
    """

    file: str
    message: str
    line: int | None = None
    rule_id: str | None = None
    field: str | None = None
    value: object = None

    def __str__(self) -> str:
        """Render as ``file:line: rule <id>, field <f>: message``."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = []
        if self.rule_id:
            parts.append(f"rule {self.rule_id}")
        if self.field:
            parts.append(f"field {self.field}")
        prefix = f"{where}: " + (", ".join(parts) + ": " if parts else "")
        return prefix + self.message


class PackError(SencocalInputError):
    """A single problem in a pack or profile file."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem

    @property
    def file(self) -> str:
        """The file the problem is in."""
        return self.problem.file

    @property
    def line(self) -> int | None:
        """The 1-based line, if known."""
        return self.problem.line

    @property
    def rule_id(self) -> str | None:
        """The rule id, if the problem is inside a rule."""
        return self.problem.rule_id

    @property
    def field(self) -> str | None:
        """The dotted field path, if known."""
        return self.problem.field

    @property
    def value(self) -> object:
        """The offending value, if any."""
        return self.problem.value


@dataclass
class PackRejected(SencocalInputError):
    """A file was refused; ``problems`` holds every problem found, in file order."""

    problems: Sequence[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        ValueError.__init__(self, self.__str__())

    def __str__(self) -> str:
        """One problem per line."""
        return "\n".join(str(p) for p in self.problems)

    @property
    def file(self) -> str:
        """The file that was rejected."""
        return self.problems[0].file if self.problems else "<input>"
