"""Signing in to Google: a Workspace service account with domain-wide delegation, or OAuth.

Both give google-auth credentials that refresh themselves. Secrets (a service-account key, a
refresh token) come in as arguments: the feed server keeps them encrypted and opens them only
to build these; nothing here logs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

# The least the connector needs: a calendar it creates itself, or events in a chosen calendar.
SCOPE_APP_CALENDARS = "https://www.googleapis.com/auth/calendar.app.created"
SCOPE_CALENDARS = "https://www.googleapis.com/auth/calendar"
GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


class KeyFileInvalid(ValueError):
    """A service-account key file that is not one (the message says what is wrong)."""


def scopes_for(dedicated: bool) -> list[str]:
    """The scopes a connection asks for: app-created calendars only, when it can."""
    return [SCOPE_APP_CALENDARS] if dedicated else [SCOPE_CALENDARS]


def read_key_file(text: str) -> dict[str, Any]:
    """A service-account key (the JSON file Google Cloud gives), checked.

    Raises:
        KeyFileInvalid: not JSON, not a service-account key, or missing a field.
    """
    try:
        info = json.loads(text)
    except ValueError:
        raise KeyFileInvalid(
            "The key file is not JSON; upload the .json key file itself."
        ) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise KeyFileInvalid(
            "This is not a service-account key: in Google Cloud, open the service account, "
            "then Keys, Add key, JSON."
        )
    missing = [f for f in ("client_email", "private_key", "token_uri") if not info.get(f)]
    if missing:
        raise KeyFileInvalid(f"The key file has no {', '.join(missing)}; download a new key.")
    return info


def service_account(info: dict[str, Any], subject: str, dedicated: bool) -> Any:
    """Credentials acting as ``subject`` (a Workspace user) through domain-wide delegation."""
    from google.oauth2 import service_account as sa

    creds = sa.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=scopes_for(dedicated)
    )
    return creds.with_subject(subject)


@dataclass(frozen=True)
class OAuthClient:
    """The OAuth client registered for this server, and Google's endpoints."""

    client_id: str
    client_secret: str
    auth_uri: str = GOOGLE_AUTH_URI
    token_uri: str = GOOGLE_TOKEN_URI

    def consent_url(self, redirect_uri: str, state: str, dedicated: bool) -> str:
        """Where to send the person who grants access (offline: we get a refresh token)."""
        query = {
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(scopes_for(dedicated)),
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            "state": state,
        }
        return f"{self.auth_uri}?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str, timeout: float = 20.0) -> str:
        """Trade the consent page's code for a refresh token.

        Raises:
            PermanentRemoteError: Google refused the code (expired, used, or for another app).
            TransientRemoteError: Google could not be reached.
        """
        import requests

        from connectors.errors import PermanentRemoteError, StopReason, TransientRemoteError

        session = requests.Session()
        try:
            answer = session.post(
                self.token_uri,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
                timeout=timeout,
            )
        except requests.RequestException as exc:
            raise TransientRemoteError(f"Google's sign-in service: {type(exc).__name__}") from None
        finally:
            session.close()
        data = (
            answer.json()
            if answer.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        token = data.get("refresh_token") if answer.ok else None
        if not token:
            raise PermanentRemoteError(
                StopReason.GRANT_REVOKED,
                f"Google did not grant access ({data.get('error', answer.status_code)})",
            )
        return str(token)

    def credentials(self, refresh_token: str, dedicated: bool) -> Any:
        """Credentials from a stored refresh token."""
        from google.oauth2.credentials import Credentials

        return Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=refresh_token,
            token_uri=self.token_uri,
            client_id=self.client_id,
            client_secret=self.client_secret,
            scopes=scopes_for(dedicated),
        )
