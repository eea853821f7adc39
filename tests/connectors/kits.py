"""Each remote's side of the contract suite: a :class:`contract.Kit` over its emulator."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from connectors.google import GoogleEndpoints, GoogleRemote, GoogleTarget, service_account
from connectors.google import wire as google_wire
from connectors.google.auth import SCOPE_APP_CALENDARS, SCOPE_CALENDARS
from connectors.microsoft import (
    AppOnly,
    GraphEndpoints,
    MicrosoftApp,
    MicrosoftRemote,
    MicrosoftTarget,
)
from connectors.microsoft import wire as graph_wire
from tests.connectors.contract import Held

CLIENT_TIMEOUT = 1.0  # seconds: the emulator's "timeout" faults stall for longer (2 s); a
# shorter wait made an ordinary answer on a loaded 2-core machine look like a lost one


class GoogleKit:
    """A Workspace school with a service account, syncing into a calendar sencocal made."""

    batch_size = 50

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.user = "senco@school.example"
        emulator.add_user(self.user)
        emulator.add_group("slt@school.example", [self.user])
        self.key = emulator.add_service_account("school.example")
        emulator.grant_delegation(self.key["client_id"], [SCOPE_APP_CALENDARS, SCOPE_CALENDARS])
        self.calendar_id: str | None = None
        self.reset()

    def reset(self) -> None:
        """A new connection (its own tag and calendar), as if another school connected."""
        self.tag = "t" + secrets.token_hex(6)
        self.calendar_id = None
        remote = self.remote()
        remote.open()
        remote.close()

    def _created(self, calendar_id: str) -> None:
        self.calendar_id = calendar_id

    def remote(self) -> GoogleRemote:
        return remote_from_config(self.child_config(), on_created=self._created)

    def child_config(self) -> dict[str, Any]:
        return {
            "provider": "google",
            "api": self.emulator.base_url,
            "batch": self.emulator.batch_uri,
            "key": self.key,
            "user": self.user,
            "tag": self.tag,
            "calendar_id": self.calendar_id,
            "batch_size": self.batch_size,
        }

    def held(self) -> list[Held]:
        assert self.calendar_id is not None
        out = []
        for data in self.emulator.events(self.calendar_id):
            ours = google_wire.remote_event(data, self.tag)
            if ours is None:
                continue
            start = data["start"].get("date") or data["start"]["dateTime"]
            end = data["end"].get("date") or data["end"]["dateTime"]
            out.append(
                Held(ours.remote_id, ours.key, ours.content_hash, data["summary"], start, end)
            )
        return out

    def _id(self, key: str) -> str:
        return google_wire.event_id(self.tag, key)

    def hand_delete(self, key: str) -> None:
        assert self.calendar_id is not None
        self.emulator.hand_delete(self.calendar_id, self._id(key))

    def hand_move(self, key: str, day: dt.date) -> None:
        assert self.calendar_id is not None
        self.emulator.hand_edit(
            self.calendar_id,
            self._id(key),
            start={"date": day.isoformat()},
            end={"date": (day + dt.timedelta(days=1)).isoformat()},
        )

    def revoke(self) -> None:
        self.emulator.revoke_grant(self.key["client_id"])

    def delete_calendar(self) -> None:
        assert self.calendar_id is not None
        self.emulator.delete_calendar(self.calendar_id)


def remote_from_config(
    config: dict[str, Any], on_created: Any = None
) -> GoogleRemote | MicrosoftRemote:
    """The remote a kit's config describes (also built by ``sync_child.py``)."""
    if config["provider"] == "microsoft":
        return graph_remote_from_config(config, on_created)
    assert config["provider"] == "google"
    dedicated = True
    credentials = service_account(config["key"], config["user"], dedicated)
    return GoogleRemote(
        GoogleTarget(
            tag=config["tag"],
            calendar_id=config["calendar_id"],
            dedicated_name="SENCO calendar",
            share_with=("group:slt@school.example",),
        ),
        credentials,
        GoogleEndpoints(config["api"], config["batch"], timeout=CLIENT_TIMEOUT),
        batch_size=config["batch_size"],
        on_calendar_created=on_created,
    )


class GraphKit:
    """A Microsoft 365 school: the server's app (app-only), a calendar sencocal made."""

    batch_size = 20
    tenant = "school-tenant"
    client_id = "sencocal-app"
    secret = "app-secret"

    def __init__(self, emulator: Any, redirect_uris: tuple[str, ...] = ()) -> None:
        self.emulator = emulator
        self.mailbox = "senco@school.example"
        emulator.add_tenant(self.tenant)
        emulator.add_app(self.tenant, self.client_id, self.secret, roles=["Calendars.ReadWrite"],
                         redirect_uris=list(redirect_uris))  # fmt: skip
        emulator.add_user(self.tenant, self.mailbox)
        self.calendar_id: str | None = None
        self.reset()

    def reset(self) -> None:
        """A new connection (its own tag and calendar), as if another school connected."""
        self.tag = "t" + secrets.token_hex(6)
        self.calendar_id = None
        remote = self.remote()
        remote.open()
        remote.close()

    def _created(self, calendar_id: str) -> None:
        self.calendar_id = calendar_id

    def remote(self) -> MicrosoftRemote:
        return graph_remote_from_config(self.child_config(), on_created=self._created)

    def child_config(self) -> dict[str, Any]:
        return {
            "provider": "microsoft",
            "authority_host": self.emulator.base_url,
            "graph_url": self.emulator.graph_url,
            "ca_file": self.emulator.ca_file,
            "tenant": self.tenant,
            "client_id": self.client_id,
            "secret": self.secret,
            "mailbox": self.mailbox,
            "tag": self.tag,
            "calendar_id": self.calendar_id,
            "name": f"SENCO calendar {self.tag}",
            "batch_size": self.batch_size,
        }

    def _ours(self) -> list[tuple[Any, dict[str, Any]]]:
        assert self.calendar_id is not None
        out = []
        for data in self.emulator.events(self.mailbox, self.calendar_id):
            ours = graph_wire.remote_event(data, self.tag)
            if ours is not None:
                out.append((ours, data))
        return out

    def held(self) -> list[Held]:
        return [
            Held(
                ours.remote_id,
                ours.key,
                ours.content_hash,
                data["subject"],
                data["start"]["dateTime"],
                data["end"]["dateTime"],
            )  # fmt: skip
            for ours, data in self._ours()
        ]

    def _id(self, key: str) -> str:
        return next(ours.remote_id for ours, _ in self._ours() if ours.key == key)

    def hand_delete(self, key: str) -> None:
        self.emulator.hand_delete(self.mailbox, self._id(key))

    def hand_move(self, key: str, day: dt.date) -> None:
        after = day + dt.timedelta(days=1)
        self.emulator.hand_edit(
            self.mailbox,
            self._id(key),
            start={"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": "Europe/London"},
            end={"dateTime": f"{after.isoformat()}T00:00:00", "timeZone": "Europe/London"},
        )

    def revoke(self) -> None:
        self.emulator.revoke_consent(self.client_id)

    def delete_calendar(self) -> None:
        """A person deletes the calendar in Outlook."""
        assert self.calendar_id is not None
        with self.emulator.lock:
            del self.emulator._mailbox(self.mailbox).calendars[self.calendar_id]


def graph_remote_from_config(config: dict[str, Any], on_created: Any = None) -> MicrosoftRemote:
    """The Microsoft remote a GraphKit's config describes."""
    app = MicrosoftApp(
        config["client_id"], config["secret"], config["authority_host"], config["ca_file"]
    )
    return MicrosoftRemote(
        MicrosoftTarget(
            tag=config["tag"],
            mailbox=config["mailbox"],
            calendar_id=config["calendar_id"],
            dedicated_name=config["name"],
        ),
        AppOnly(app, config["tenant"]),
        GraphEndpoints(config["graph_url"], config["ca_file"], timeout=CLIENT_TIMEOUT),
        batch_size=config["batch_size"],
        on_calendar_created=on_created,
    )
