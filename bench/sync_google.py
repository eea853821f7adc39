"""bench/sync.py's Google side: the Google Calendar emulator counting per school, its settings.

Runs in the emulator's own process (``sync.serve_emulator``); test infrastructure from
``tests/emulators/``, subclassed here only to count each call and write for the school it was
for and to set a school up as its IT admin would.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any


def emulator(latency: float) -> Any:
    """The Google Calendar emulator, counting calls and writes per school (its own process)."""
    from google.auth import jwt

    from tests.emulators.google_calendar import GoogleCalendarEmulator
    from tests.emulators.server import Stats

    local = threading.local()

    class PerSchool(Stats):
        """``Stats`` that also counts each committed write for the school being served."""

        def __init__(self) -> None:
            super().__init__()
            self.schools: defaultdict[str, Counter[str]] = defaultdict(Counter)

        def write(self) -> None:
            super().write()
            with self._lock:
                self.schools[getattr(local, "school", "?")]["writes"] += 1

    class GoogleBench(GoogleCalendarEmulator):
        """The emulator, counting each call for the school whose user it speaks for.

        A token request's ``sub`` (the service account acts as the school's SENCO), else the
        access token's user; a school is its user's domain.
        """

        def __init__(self) -> None:
            super().__init__()
            self.stats = PerSchool()

        def handle(self, req: Any) -> Any:
            kind = self.classify(req)
            school = self.school_of(req, kind)
            local.school = school
            with self.stats._lock:
                self.stats.schools[school]["calls"] += 1
                self.stats.schools[school][kind] += 1
            return super().handle(req)

        def school_of(self, req: Any, kind: str) -> str:
            user = ""
            if kind == "token":
                assertion = req.form().get("assertion", "")
                if assertion:
                    user = str(jwt.decode(assertion, verify=False).get("sub", ""))
            else:
                scheme, _, value = (req.header("authorization") or "").partition(" ")
                with self.lock:
                    token = self.identity.tokens.get(value.strip())
                user = token.user if token is not None else ""
            return user.rpartition("@")[2] or "?"

        def add_school(self, domain: str) -> dict[str, Any]:
            user = f"senco@{domain}"
            self.add_user(user)
            self.add_group(f"slt@{domain}", [user])
            key = self.add_service_account(domain)
            self.grant_delegation(key["client_id"], [
                "https://www.googleapis.com/auth/calendar.app.created",
                "https://www.googleapis.com/auth/calendar",
            ])  # fmt: skip
            return {
                "auth_kind": "service_account",
                "account": user,
                "secret": {"key": key},
                "share_with": [f"group:slt@{domain}"],
            }

        def info(self) -> dict[str, str]:
            return {"base_url": self.base_url, "token_uri": self.token_uri, "auth": self.auth_uri}

        def snapshot(self) -> dict[str, Any]:
            with self.stats._lock:
                return {
                    "calls": self.stats.http_calls,
                    "writes": self.stats.writes,
                    "kinds": dict(self.stats.by_kind),
                    "schools": {k: dict(v) for k, v in self.stats.schools.items()},
                }

        def census(self, calendar_ids: list[str]) -> dict[str, tuple[int, int, int]]:
            """Per calendar: (live events, distinct push keys among them, cancelled)."""
            out = {}
            with self.lock:
                for cal_id in calendar_ids:
                    found = self.calendars.get(cal_id)
                    events = list(found.events.values()) if found else []
                    live = [e for e in events if e.get("status") != "cancelled"]
                    keys = {
                        ((e.get("extendedProperties") or {}).get("private") or {}).get(
                            "sencocalKey"
                        )
                        for e in live
                    }
                    out[cal_id] = (len(live), len(keys), len(events) - len(live))
            return out

    made = GoogleBench()
    made.latency = latency
    return made


def settings(info: dict[str, str]) -> dict[str, str]:
    """The app pointed at the emulator, as ``tests/feedserver/test_calendars.py`` does."""
    return {
        "SENCOCAL_GOOGLE_API_URL": info["base_url"],
        "SENCOCAL_GOOGLE_TOKEN_URI": info["token_uri"],
        "SENCOCAL_GOOGLE_AUTH_URI": info["auth"],
    }
