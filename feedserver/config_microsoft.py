"""The ``SENCOCAL_MICROSOFT_*`` settings: this server's Microsoft 365 app and Graph's address."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

AUTHORITY = "https://login.microsoftonline.com"
GRAPH = "https://graph.microsoft.com/v1.0"


class SettingProblem(ValueError):
    """A setting that is wrong (``config.py`` raises it as its ``ConfigError``)."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable, self.message = variable, message


@dataclass(frozen=True)
class MicrosoftSettings:
    """How this server reaches Microsoft 365.

    Attributes:
        client_id, client_secret: the app registration (Microsoft Entra admin center) schools
            consent to; without them Microsoft 365 cannot be connected.
        tenant: the school tenant suggested on the connect form (a directory id or a domain);
            each connection keeps its own.
        authority_url: the identity platform (https only; tests point it at an emulator).
        graph_url: Graph's v1.0 address.
        ca_bundle: a CA file to trust instead of the system's (the emulator's test CA).
    """

    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    tenant: str | None = None
    authority_url: str = AUTHORITY
    graph_url: str = GRAPH
    ca_bundle: str | None = None

    @property
    def enabled(self) -> bool:
        """True when schools can connect Microsoft 365."""
        return bool(self.client_id and self.client_secret)

    @property
    def verify(self) -> str | bool:
        """TLS verification for requests: the CA bundle, or the system's."""
        return self.ca_bundle or True

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> MicrosoftSettings:
        """Read the settings.

        Raises:
            SettingProblem: naming the variable that is wrong.
        """
        client_id = env.get("SENCOCAL_MICROSOFT_CLIENT_ID") or None
        secret = env.get("SENCOCAL_MICROSOFT_CLIENT_SECRET") or None
        if bool(client_id) != bool(secret):
            missing = (
                "SENCOCAL_MICROSOFT_CLIENT_SECRET" if client_id else "SENCOCAL_MICROSOFT_CLIENT_ID"
            )
            raise SettingProblem(
                missing, "set both the app's client id and its secret, or neither."
            )
        urls = {}
        for name, default in (
            ("SENCOCAL_MICROSOFT_AUTHORITY_URL", AUTHORITY),
            ("SENCOCAL_MICROSOFT_GRAPH_URL", GRAPH),
        ):
            value = env.get(name) or default
            if urlsplit(value).scheme != "https":
                raise SettingProblem(name, f"'{value}' is not an https address (msal "
                                           "accepts no other).")  # fmt: skip
            urls[name] = value.rstrip("/")
        ca = env.get("SENCOCAL_MICROSOFT_CA_BUNDLE") or None
        if ca is not None and not Path(ca).is_file():
            raise SettingProblem("SENCOCAL_MICROSOFT_CA_BUNDLE", f"no file at {ca}.")
        return cls(
            client_id=client_id,
            client_secret=secret,
            tenant=env.get("SENCOCAL_MICROSOFT_TENANT") or None,
            authority_url=urls["SENCOCAL_MICROSOFT_AUTHORITY_URL"],
            graph_url=urls["SENCOCAL_MICROSOFT_GRAPH_URL"],
            ca_bundle=ca,
        )
