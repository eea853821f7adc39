"""Google Calendar: the remote (`calendar.py`), wire format (`wire.py`), sign-in (`auth.py`)."""

from connectors.google.auth import OAuthClient, read_key_file, service_account
from connectors.google.calendar import GoogleEndpoints, GoogleRemote, GoogleTarget

__all__ = [
    "GoogleEndpoints",
    "GoogleRemote",
    "GoogleTarget",
    "OAuthClient",
    "read_key_file",
    "service_account",
]
