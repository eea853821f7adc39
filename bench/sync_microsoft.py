"""bench/sync.py's Microsoft side: the Graph emulator counting per school, its settings.

Runs in the emulator's own process (``sync.serve_emulator``); test infrastructure from
``tests/emulators/``, subclassed here only to count each call and write for the school it was
for and to set a school up as its IT admin would.

The emulator keeps an app registration in one tenant, so the bench's 500 schools are mailboxes
of one tenant, each school its own mail domain (``senco@bench-0001.example``): Graph calls are
counted by the mailbox they name, and the identity platform's calls (the OpenID configuration
and the app token, which msal caches for every school a worker serves) by no school; the
summary spreads those over the schools. With a tenant per school, as in production, each school
would pay one OpenID configuration and one token call more (within the bound's 3).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import Counter, defaultdict
from typing import Any

TENANT = "bench-tenant"
CLIENT_ID = "sencocal-bench"
SECRET = "bench-secret"


def emulator(latency: float) -> Any:
    """The Graph emulator, counting calls and writes per school (its own process)."""
    from tests.emulators.graph import GraphEmulator
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

    class GraphBench(GraphEmulator):
        """The emulator, counting each call for the school whose mailbox it names."""

        def __init__(self) -> None:
            super().__init__()
            self.stats = PerSchool()
            self.add_tenant(TENANT)
            self.add_app(TENANT, CLIENT_ID, SECRET, roles=["Calendars.ReadWrite"])

        def handle(self, req: Any) -> Any:
            kind = self.classify(req)
            school = self.school_of(req)
            local.school = school
            with self.stats._lock:
                self.stats.schools[school]["calls"] += 1
                self.stats.schools[school][kind] += 1
            return super().handle(req)

        @staticmethod
        def school_of(req: Any) -> str:
            path = urllib.parse.urlsplit(req.raw_path).path
            segs = [urllib.parse.unquote(s) for s in path.split("/") if s]
            if segs[1:2] == ["$batch"]:
                try:
                    first = json.loads(req.body or b"{}")["requests"][0]["url"]
                except (ValueError, KeyError, IndexError, TypeError):
                    return "?"
                segs = ["v1.0", *[urllib.parse.unquote(s) for s in
                                  urllib.parse.urlsplit(first).path.split("/") if s]]  # fmt: skip
            if len(segs) > 2 and segs[1] == "users":
                return segs[2].rpartition("@")[2] or "?"
            return "?"

        def add_school(self, domain: str) -> dict[str, Any]:
            user = f"senco@{domain}"
            self.add_user(TENANT, user)
            return {
                "auth_kind": "app_only",
                "account": user,
                "secret": {"tenant": TENANT, "target": "user"},
                "share_with": [],
            }

        def info(self) -> dict[str, str]:
            return {"base_url": self.base_url, "graph_url": self.graph_url, "ca": self.ca_file}

        def snapshot(self) -> dict[str, Any]:
            with self.stats._lock:
                return {
                    "calls": self.stats.http_calls,
                    "writes": self.stats.writes,
                    "kinds": dict(self.stats.by_kind),
                    "schools": {k: dict(v) for k, v in self.stats.schools.items()},
                }

        def census(self, calendar_ids: list[str]) -> dict[str, tuple[int, int, int]]:
            """Per calendar: (events, distinct push keys among them, 0: Graph keeps no tombstones)."""
            from connectors.microsoft import wire

            wanted = set(calendar_ids)
            out = {}
            with self.lock:
                for box in self.mailboxes.values():
                    for cal_id, calendar in box.calendars.items():
                        if cal_id not in wanted:
                            continue
                        events = list(calendar.events.values())
                        keys = {
                            p["value"] for e in events for p in e.get("_props", [])
                            if p["id"] == wire.KEY
                        }  # fmt: skip
                        out[cal_id] = (len(events), len(keys), 0)
            return out

    made = GraphBench()
    made.latency = latency
    return made


def settings(info: dict[str, str]) -> dict[str, str]:
    """The app pointed at the emulator, as ``tests/feedserver/test_calendars_microsoft.py`` does."""
    return {
        "SENCOCAL_MICROSOFT_CLIENT_ID": CLIENT_ID,
        "SENCOCAL_MICROSOFT_CLIENT_SECRET": SECRET,
        "SENCOCAL_MICROSOFT_TENANT": TENANT,
        "SENCOCAL_MICROSOFT_AUTHORITY_URL": info["base_url"],
        "SENCOCAL_MICROSOFT_GRAPH_URL": info["graph_url"],
        "SENCOCAL_MICROSOFT_CA_BUNDLE": info["ca"],
    }
