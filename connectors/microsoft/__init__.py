"""Microsoft 365 through Graph: the remote, its HTTP side, wire format and sign-in.

`calendar.py` (the `Remote`), `graph.py` (requests, `$batch`), `wire.py` (event JSON, tags),
`auth.py` (msal).
"""

from connectors.microsoft.auth import AppOnly, Delegated, MicrosoftApp
from connectors.microsoft.calendar import MicrosoftRemote, MicrosoftTarget
from connectors.microsoft.graph import GraphEndpoints

__all__ = [
    "AppOnly",
    "Delegated",
    "GraphEndpoints",
    "MicrosoftApp",
    "MicrosoftRemote",
    "MicrosoftTarget",
]
