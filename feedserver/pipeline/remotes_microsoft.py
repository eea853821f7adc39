"""Building a Microsoft 365 connection's remote from its stored settings and credentials.

What a Microsoft connection keeps (made by ``web/pages/microsoft_views.py``):

* ``auth_kind``: ``app_only`` (this server's app, admin-consented in the school's tenant) or
  ``delegated`` (a person signed in; their refresh token is sealed in ``secret``).
* ``account``: the mailbox (a user's or shared mailbox's address) or the group's id.
* ``secret``: ``{"tenant": ..., "target": "user" | "shared_mailbox" | "group"}`` and, when
  delegated, ``"refresh_token"``.
* ``calendar_id``: :data:`DEFAULT_CALENDAR` for the mailbox's (or group's) own calendar, a
  chosen calendar's id, or None until sencocal has made the dedicated one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.errors import PermanentRemoteError, StopReason
from connectors.microsoft import (
    AppOnly,
    Delegated,
    GraphEndpoints,
    MicrosoftApp,
    MicrosoftRemote,
    MicrosoftTarget,
)
from connectors.microsoft.auth import SCOPES_GROUP, SCOPES_OWN, SCOPES_SHARED
from feedserver.config import Config
from feedserver.storage.connections import Snapshot

DEFAULT_CALENDAR = "default"
TARGETS = ("user", "shared_mailbox", "group")


def app_of(config: Config) -> MicrosoftApp:
    """The server's Microsoft app, or a permanent error when none is configured."""
    settings = config.microsoft
    if not settings.enabled:
        raise PermanentRemoteError(
            StopReason.NOT_CONFIGURED, "this server has no Microsoft 365 app configured"
        )
    return MicrosoftApp(
        settings.client_id or "", settings.client_secret or "",
        settings.authority_url, settings.verify,
    )  # fmt: skip


def delegated_scopes(target: str, own: bool) -> list[str]:
    """What a delegated sign-in asks for: a group's calendar, a shared one, or one's own."""
    if target == "group":
        return list(SCOPES_GROUP)
    return list(SCOPES_OWN if own else SCOPES_SHARED)


def microsoft_remote(
    config: Config,
    connection: Snapshot,
    name: str,
    on_calendar_created: Callable[[str], None],
    on_secret_changed: Callable[[dict[str, Any]], None] | None = None,
) -> MicrosoftRemote:
    """The remote for a Microsoft 365 connection (``name``: a dedicated calendar's).

    ``on_secret_changed`` gets the connection's credentials again when Microsoft rotates the
    refresh token, to be sealed and kept.

    Raises:
        PermanentRemoteError: no app configured, or credentials this server cannot use.
    """
    app = app_of(config)
    secret = connection.secret
    tenant = str(secret.get("tenant") or "")
    target = str(secret.get("target") or "user")
    if not tenant or target not in TARGETS:
        raise PermanentRemoteError(StopReason.NOT_CONFIGURED, "the connection names no tenant")
    tokens: AppOnly | Delegated
    if connection.auth_kind == "app_only":
        if target == "group":
            raise PermanentRemoteError(
                StopReason.NO_ACCESS,
                "a Microsoft 365 group calendar cannot be written app-only; sign in instead",
            )
        tokens = AppOnly(app, tenant)
    elif connection.auth_kind == "delegated":
        own = bool(secret.get("own", True))

        def keep(token: str) -> None:
            if on_secret_changed is not None:
                on_secret_changed({**secret, "refresh_token": token})

        tokens = Delegated(
            app, tenant, str(secret["refresh_token"]), delegated_scopes(target, own), keep
        )
    else:
        raise PermanentRemoteError(
            StopReason.NOT_CONFIGURED, f"unknown Microsoft sign-in {connection.auth_kind!r}"
        )
    default = connection.calendar_id == DEFAULT_CALENDAR
    return MicrosoftRemote(
        MicrosoftTarget(
            tag=connection.tag,
            mailbox=connection.account,
            group=target == "group",
            calendar_id=None if default else connection.calendar_id,
            dedicated_name=name if connection.dedicated and not default else None,
        ),
        tokens,
        GraphEndpoints(config.microsoft.graph_url, config.microsoft.verify),
        on_calendar_created=on_calendar_created,
    )
