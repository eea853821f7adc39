"""The instance admin's pages, one per concern, and the navigation they share.

Each admin page module adds its section with :func:`add` when it is imported; the header
shows every section to the admin on every page. A new concern (calendar connections, local
authorities) is a new module with its own routes, template (extending ``admin_base.html``) and
one :func:`add` call: nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One admin page in the navigation.

    Attributes:
        endpoint: the page's Flask endpoint (``pages.admin_keys``).
        label: the link's words.
        order: where it sits (lower first).
        also: other endpoints of the same concern (its form posts), marked current too.
    """

    endpoint: str
    label: str
    order: int
    also: tuple[str, ...] = ()

    def current(self, endpoint: str | None) -> bool:
        """Whether ``endpoint`` is this section's page or one of its form posts."""
        return endpoint == self.endpoint or endpoint in self.also


_SECTIONS: dict[str, Section] = {}


def add(section: Section) -> None:
    """Add (or replace) a section of the admin's navigation."""
    _SECTIONS[section.endpoint] = section


def sections() -> list[Section]:
    """Every section, in order."""
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.label))
