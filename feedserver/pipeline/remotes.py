"""Building a connection's remote calendar client from its stored settings and credentials.

One function per provider; each knows which credentials its connections keep (see
``web/pages/calendar_views.py`` for how they are made) and where this server's config says the
provider's endpoints are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.errors import PermanentRemoteError, StopReason
from connectors.remote import Remote
from feedserver.config import Config
from feedserver.storage.connections import Snapshot

DEDICATED_NAMES = {
    "senco": "SENCO calendar",
    "slt": "SLT SEND overlay",
    "governors": "SEND for governors",
    "ta": "SEND for the TA team",
    "staff": "SEND for all staff",
}


def remote_for(
    config: Config,
    connection: Snapshot,
    on_calendar_created: Callable[[str], None],
    on_secret_changed: Callable[[dict[str, Any]], None] | None = None,
) -> Remote:
    """The remote for ``connection`` (``on_secret_changed``: keep rotated credentials).

    Raises:
        PermanentRemoteError: the connection's provider or credentials cannot be used here.
    """
    if connection.provider == "google":
        return _google(config, connection, on_calendar_created)
    if connection.provider == "microsoft":
        from feedserver.pipeline.remotes_microsoft import microsoft_remote

        name = connection.calendar_name or DEDICATED_NAMES.get(connection.audience, "SEND calendar")
        return microsoft_remote(config, connection, name, on_calendar_created, on_secret_changed)
    raise PermanentRemoteError(
        StopReason.NOT_CONFIGURED, f"no connector for {connection.provider!r}"
    )


def _google(
    config: Config, connection: Snapshot, on_calendar_created: Callable[[str], None]
) -> Remote:
    from connectors.google import (
        GoogleEndpoints,
        GoogleRemote,
        GoogleTarget,
        OAuthClient,
        service_account,
    )

    settings = config.google
    if connection.auth_kind == "service_account":
        credentials = service_account(
            connection.secret["key"], connection.account, connection.dedicated
        )
    elif connection.auth_kind == "oauth":
        if not settings.consent_enabled:
            raise PermanentRemoteError(
                StopReason.NOT_CONFIGURED, "this server has no Google OAuth client configured"
            )
        client = OAuthClient(
            settings.client_id or "", settings.client_secret or "",
            settings.auth_uri, settings.token_uri,
        )  # fmt: skip
        credentials = client.credentials(connection.secret["refresh_token"], connection.dedicated)
    else:
        raise PermanentRemoteError(
            StopReason.NOT_CONFIGURED, f"unknown Google sign-in {connection.auth_kind!r}"
        )
    endpoints = GoogleEndpoints()
    if settings.api_url:
        base = settings.api_url.rstrip("/") + "/"
        endpoints = GoogleEndpoints(
            api_endpoint=base, batch_uri=settings.batch_url or base + "batch/calendar/v3"
        )
    elif settings.batch_url:
        endpoints = GoogleEndpoints(batch_uri=settings.batch_url)
    name = connection.calendar_name or DEDICATED_NAMES.get(connection.audience, "SEND calendar")
    target = GoogleTarget(
        tag=connection.tag,
        calendar_id=connection.calendar_id,
        dedicated_name=name,
        description="Kept up to date by sencocal: changes made here may be overwritten.",
        share_with=connection.share_with,
    )
    return GoogleRemote(target, credentials, endpoints, on_calendar_created=on_calendar_created)
