"""Who is acting, and what they reach: one type for page sessions and API keys alike.

Every credential (a person's account, an API key) has a scope given by its ``role`` and the id
that goes with it:

=========  ==============  =============================================
role       scope id        reaches
=========  ==============  =============================================
``admin``  none            the whole instance: every school, keys, users
``school`` ``school_id``   that one school's pages and API, nothing else
``la``     ``la_code``     that LA's publishing pages and API: its packs, dry runs, term dates,
                           colleagues and keys, and what ``storage.la_view`` shows of its
                           schools; never a school's own pages
=========  ==============  =============================================
"""

from __future__ import annotations

from dataclasses import dataclass

from feedserver.storage.models import ApiKey, User

ROLES = ("admin", "school", "la")
ROLE_WORDS = {"admin": "Instance admin", "school": "School admin", "la": "LA officer"}


def scope_ok(role: str, school_id: str | None, la_code: str | None) -> bool:
    """Whether a role comes with exactly the scope id it needs (and no other)."""
    if role == "admin":
        return school_id is None and la_code is None
    if role == "school":
        return school_id is not None and la_code is None
    if role == "la":
        return la_code is not None and school_id is None
    return False


@dataclass(frozen=True)
class Principal:
    """The caller: a signed-in person or an API key, with its scope.

    Attributes:
        role: ``admin``, ``school`` or ``la`` (see the module's table).
        school_id: the school a ``school`` principal reaches; None otherwise.
        la_code: the LA an ``la`` principal publishes for; None otherwise.
        name: the person's name, or the key's label, for people to read.
        user_id: the account, when a person signed in with a link.
        key_id: the API key, when one was used (to call the API or to sign in).
        session_id: the page session, on the pages.
    """

    role: str
    school_id: str | None
    name: str
    user_id: int | None = None
    key_id: int | None = None
    session_id: int | None = None
    la_code: str | None = None

    @property
    def is_admin(self) -> bool:
        """Whether this principal is the instance admin."""
        return self.role == "admin"

    def may_use(self, school_id: str) -> bool:
        """Whether this caller may read or change ``school_id``."""
        return self.is_admin or (self.role == "school" and self.school_id == school_id)

    may_see = may_use  # the pages' word for it

    def may_publish_for(self, la_code: str) -> bool:
        """Whether this caller may publish for, and see the LA pages of, ``la_code``."""
        return self.is_admin or (self.role == "la" and self.la_code == la_code)

    @property
    def actor(self) -> str:
        """How the audit log names this caller: ``<scope>:<who>``, at most 100 characters."""
        who = self.name if self.user_id is not None else f"key {self.key_id} {self.name}".strip()
        if self.is_admin:
            scope = "admin"
        elif self.role == "la":
            scope = f"la:{self.la_code}"
        else:
            scope = f"{self.role}:{self.school_id}"
        return f"{scope}:{who}"[:100]


def of_user(user: User, session_id: int | None = None) -> Principal:
    """The principal of a person's account."""
    return Principal(user.role, user.school_id, user.name, user_id=user.id,
                     session_id=session_id, la_code=user.la_code)  # fmt: skip


def of_key(key: ApiKey, session_id: int | None = None) -> Principal:
    """The principal of an API key (its label, or what it is for, as its name)."""
    name = key.label or {"admin": "instance admin", "la": "LA key"}.get(key.role, "school key")
    return Principal(key.role, key.school_id, name, key_id=key.id, session_id=session_id,
                     la_code=key.la_code)  # fmt: skip
