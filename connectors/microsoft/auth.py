"""Signing in to Microsoft 365 with msal: app-only (client credentials) or delegated (auth code).

* **App-only**: the server's app registration with the ``Calendars.ReadWrite`` application
  permission, admin-consented in the school's tenant; a token for
  ``https://graph.microsoft.com/.default``. Reaches users' and shared mailboxes' calendars
  (restrict it to chosen mailboxes with Exchange RBAC for applications), never group calendars.
* **Delegated**: a person signs in through the auth-code flow (PKCE, ``form_post``) and consents;
  we keep the refresh token (sealed by the feed server) and trade it for access tokens. Group
  calendars need this path (``Group.ReadWrite.All``; Graph refuses app-only tokens there).

Secrets come in as arguments and are never logged. One msal application is kept per process,
authority and client (it caches the app token and the OpenID configuration, one HTTP call each).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from connectors.errors import PermanentRemoteError, StopReason, TransientRemoteError

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
AUTHORITY_HOST = "https://login.microsoftonline.com"
SCOPES_OWN = ["Calendars.ReadWrite"]  # the signed-in person's own calendars
SCOPES_SHARED = ["Calendars.ReadWrite.Shared"]  # a mailbox shared with them
SCOPES_GROUP = ["Group.ReadWrite.All"]  # a Microsoft 365 group's calendar
# Identity-platform errors that will not go away until a person acts.
REFUSED = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        "unauthorized_client",
        "interaction_required",
        "consent_required",
        "access_denied",
    }
)


class TokenSource(Protocol):
    """Gives an access token for Graph (``fresh``: not one from a cache)."""

    def token(self, fresh: bool = False) -> str:
        """An access token; raises TransientRemoteError or PermanentRemoteError."""


class _OneShotHttp:
    """msal's ``http_client``: a new requests session per call, closed at once (no leaks)."""

    def __init__(self, verify: str | bool) -> None:
        self.verify = verify

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        import requests

        with requests.Session() as session:
            session.verify = self.verify
            session.trust_env = self.verify is True  # REQUESTS_CA_BUNDLE would beat verify
            kwargs.setdefault("timeout", 20)
            return session.request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self._call("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self._call("POST", url, **kwargs)

    def close(self) -> None:
        """Nothing held."""


_APPS: dict[tuple[str, str, str], Any] = {}
_APPS_LOCK = threading.Lock()


@dataclass(frozen=True)
class MicrosoftApp:
    """The server's app registration (from ``SENCOCAL_MICROSOFT_*``), and where to sign in.

    Attributes:
        client_id: the application (client) id.
        client_secret: its client secret.
        authority_host: the identity platform (an emulator's address in tests; https only).
        verify: TLS verification for requests (True, or a CA bundle's path).
    """

    client_id: str
    client_secret: str = field(repr=False)
    authority_host: str = AUTHORITY_HOST
    verify: str | bool = True

    def confidential(self, tenant: str) -> Any:
        """The msal ConfidentialClientApplication for ``tenant``, made once per process."""
        import msal

        authority = f"{self.authority_host.rstrip('/')}/{tenant}"
        digest = hashlib.sha256(self.client_secret.encode()).hexdigest()[:16]
        key = (authority, self.client_id, digest)
        with _APPS_LOCK:
            found = _APPS.get(key)
            if found is None:
                try:
                    found = msal.ConfidentialClientApplication(
                        self.client_id,
                        client_credential=self.client_secret,
                        authority=authority,
                        instance_discovery=False,
                        http_client=_OneShotHttp(self.verify),
                    )
                except ValueError as exc:
                    raise PermanentRemoteError(
                        StopReason.NOT_CONFIGURED,
                        f"Microsoft 365 does not know the tenant {tenant!r} ({exc})",
                    ) from None
                except Exception as exc:  # requests' errors: the identity platform is down
                    raise TransientRemoteError(
                        f"Microsoft's sign-in service could not be reached ({type(exc).__name__})"
                    ) from None
                _APPS[key] = found
            return found

    def consent_flow(self, tenant: str, scopes: list[str], redirect_uri: str) -> dict[str, Any]:
        """Start the auth-code flow: the flow (keep it server-side) with its ``auth_uri``."""
        flow: dict[str, Any] = self.confidential(tenant).initiate_auth_code_flow(
            scopes=scopes, redirect_uri=redirect_uri, response_mode="form_post"
        )
        return flow

    def finish_consent(
        self, tenant: str, flow: dict[str, Any], response: dict[str, str]
    ) -> tuple[str, str]:
        """The refresh token and the signed-in person's name, from the form Microsoft posted.

        Raises:
            PermanentRemoteError: consent was declined, or the code was refused.
            TransientRemoteError: the identity platform could not be reached.
        """
        try:
            result = self.confidential(tenant).acquire_token_by_auth_code_flow(flow, response)
        except ValueError as exc:  # a state that does not match the flow
            raise PermanentRemoteError(StopReason.GRANT_REVOKED, str(exc)) from None
        except Exception as exc:
            raise _transient(exc) from None
        _check(result, "sign-in")
        token = result.get("refresh_token")
        if not token:
            raise PermanentRemoteError(
                StopReason.GRANT_REVOKED, "Microsoft 365 gave no refresh token"
            )
        claims = result.get("id_token_claims") or {}
        who = str(claims.get("preferred_username") or claims.get("upn") or "")
        return str(token), who


def _transient(exc: Exception) -> TransientRemoteError:
    return TransientRemoteError(
        f"Microsoft's sign-in service did not answer ({type(exc).__name__})", 30.0
    )


def _check(result: dict[str, Any], what: str) -> None:
    """Raise our error for an msal error answer (4xx answers come back as a dict)."""
    error = result.get("error")
    if not error:
        return
    description = str(result.get("error_description", "")).split("\r")[0].split("\n")[0]
    code = description.split(":")[0] if description.startswith("AADSTS") else error
    if error in REFUSED:
        raise PermanentRemoteError(
            StopReason.GRANT_REVOKED,
            f"Microsoft 365 refused the {what} ({code}): the consent was withdrawn, the app "
            "was disabled or its secret changed. An IT admin must grant consent again.",
        )
    if error == "invalid_scope":
        raise PermanentRemoteError(
            StopReason.NOT_CONFIGURED, f"Microsoft 365 refused the permissions asked ({code})"
        )
    raise TransientRemoteError(f"Microsoft's sign-in service answered {error} ({code})", 30.0)


@dataclass
class AppOnly:
    """App-only tokens for one tenant (client credentials, ``/.default``)."""

    app: MicrosoftApp
    tenant: str

    def token(self, fresh: bool = False) -> str:
        """An app token (msal serves it from its cache until it expires, unless ``fresh``)."""
        client = self.app.confidential(self.tenant)
        try:
            if fresh:
                client.remove_tokens_for_client()
            result = client.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
        except Exception as exc:  # MsalServiceError on a 5xx, requests' errors
            raise _transient(exc) from None
        _check(result, "app's sign-in")
        return str(result["access_token"])


@dataclass
class Delegated:
    """Delegated tokens from a stored refresh token (the person who consented)."""

    app: MicrosoftApp
    tenant: str
    refresh_token: str = field(repr=False)
    scopes: list[str] = field(default_factory=lambda: list(SCOPES_OWN))
    on_new_refresh_token: Callable[[str], None] | None = None  # keep a rotated one
    _access: str = field(default="", repr=False)
    _expires: float = 0.0

    def token(self, fresh: bool = False) -> str:
        """An access token, refreshed when it is near its end (or ``fresh``)."""
        if self._access and not fresh and time.monotonic() < self._expires:
            return self._access
        client = self.app.confidential(self.tenant)
        try:
            result = client.acquire_token_by_refresh_token(self.refresh_token, scopes=self.scopes)
        except Exception as exc:
            raise _transient(exc) from None
        _check(result, "sign-in")
        self._access = str(result["access_token"])
        self._expires = time.monotonic() + max(0, int(result.get("expires_in", 3600)) - 300)
        rotated = result.get("refresh_token")
        if rotated and rotated != self.refresh_token:
            self.refresh_token = str(rotated)
            if self.on_new_refresh_token is not None:
                self.on_new_refresh_token(self.refresh_token)
        return self._access
