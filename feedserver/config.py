"""The one configuration object, built from the environment at start-up and validated there.

Every problem names the variable and says what to set, so a misconfigured server stops before it
serves anything. Nothing reads the environment at import time.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from feedserver.config_microsoft import MicrosoftSettings, SettingProblem
from rules.errors import SencocalInputError


class ConfigError(SencocalInputError):
    """A setting is missing or wrong; ``variable`` names it."""

    def __init__(self, variable: str, message: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {message}")


@dataclass(frozen=True)
class GoogleSettings:
    """How this server reaches Google Calendar.

    Attributes:
        client_id, client_secret: this server's OAuth client (Google Cloud console), for
            schools that connect by consent; without them only service accounts can connect.
        api_url: the Calendar API's base URL (None: Google's own; tests point at an emulator).
        batch_url: the batch endpoint (None: Google's own, or ``api_url`` + ``batch/calendar/v3``).
        auth_uri, token_uri: Google's OAuth endpoints.
    """

    client_id: str | None = None
    client_secret: str | None = None
    api_url: str | None = None
    batch_url: str | None = None
    auth_uri: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_uri: str = "https://oauth2.googleapis.com/token"

    @property
    def consent_enabled(self) -> bool:
        """True when schools can connect by signing in with Google."""
        return bool(self.client_id and self.client_secret)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> GoogleSettings:
        """Read the ``SENCOCAL_GOOGLE_*`` settings.

        Raises:
            ConfigError: naming the variable that is wrong.
        """
        client_id = env.get("SENCOCAL_GOOGLE_CLIENT_ID") or None
        client_secret = env.get("SENCOCAL_GOOGLE_CLIENT_SECRET") or None
        if bool(client_id) != bool(client_secret):
            missing = "SENCOCAL_GOOGLE_CLIENT_SECRET" if client_id else "SENCOCAL_GOOGLE_CLIENT_ID"
            raise ConfigError(missing, "set both the OAuth client id and its secret, or neither.")
        urls: dict[str, str | None] = {}
        for name, field_name in (
            ("SENCOCAL_GOOGLE_API_URL", "api_url"),
            ("SENCOCAL_GOOGLE_BATCH_URL", "batch_url"),
            ("SENCOCAL_GOOGLE_AUTH_URI", "auth_uri"),
            ("SENCOCAL_GOOGLE_TOKEN_URI", "token_uri"),
        ):
            value = env.get(name) or None
            if value is not None and urlsplit(value).scheme not in {"http", "https"}:
                raise ConfigError(name, f"'{value}' is not an http(s) address.")
            urls[field_name] = value
        defaults = cls()
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            api_url=urls["api_url"],
            batch_url=urls["batch_url"],
            auth_uri=urls["auth_uri"] or defaults.auth_uri,
            token_uri=urls["token_uri"] or defaults.token_uri,
        )


@dataclass(frozen=True)
class Config:
    """Validated settings for one feed-server process.

    Attributes:
        database_url: SQLAlchemy URL; SQLite in the instance folder by default.
        redis_url: rq's Redis; None runs jobs in-process.
        public_base_url: what feed links are built on (https in production).
        secret_key: signs sessions and CSRF tokens.
        encryption_keys: Fernet keys for secrets at rest, newest first (rotate by prepending).
        feed_cache_seconds: how long a worker keeps a feed's bytes before asking the database
            again; with the nginx cache, the worst-case delay before a revoked token stops working.
        feed_cache_bytes: the most feed bytes one worker keeps (least recently used go first).
        max_body_bytes: the largest request body accepted.
        trusted_proxies: how many proxies in front (nginx: 1) whose X-Forwarded-For gives the
            client's address, which rate limits count by; 0 trusts none.
        production: refuse development shortcuts (plain http, generated keys).
        google: how to reach Google Calendar for the push sync.
        microsoft: how to reach Microsoft 365 for the push sync.
    """

    database_url: str
    public_base_url: str
    secret_key: str
    encryption_keys: tuple[str, ...]
    redis_url: str | None = None
    feed_cache_seconds: float = 5.0
    feed_cache_bytes: int = 16_000_000
    max_body_bytes: int = 2_000_000
    trusted_proxies: int = 0
    production: bool = False
    google: GoogleSettings = GoogleSettings()
    microsoft: MicrosoftSettings = MicrosoftSettings()

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], instance_path: Path | str = "instance") -> Config:
        """Build and validate a config from environment-style settings.

        Raises:
            ConfigError: naming the first variable that is wrong.
        """
        production = _flag(env, "SENCOCAL_PRODUCTION", default=False)
        instance = Path(instance_path)
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance.resolve() / 'sencocal.db'}"
        _check_database_url(database_url)
        redis_url = env.get("REDIS_URL") or None
        if redis_url is not None and urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
            raise ConfigError("REDIS_URL", "must start redis://, rediss:// or unix://.")
        base = env.get("PUBLIC_BASE_URL") or ("" if production else "http://127.0.0.1:8000")
        public_base_url = _check_base_url(base, production)
        secret_key = env.get("SECRET_KEY") or ""
        if not secret_key:
            if production:
                raise ConfigError(
                    "SECRET_KEY", "required in production; set 32+ random characters."
                )
            secret_key = secrets.token_urlsafe(32)
        elif len(secret_key) < 16:
            raise ConfigError("SECRET_KEY", "too short; use at least 16 random characters.")
        raw_keys = (env.get("SENCOCAL_ENCRYPTION_KEYS") or "").split(",")
        keys = tuple(k.strip() for k in raw_keys if k.strip())
        if not keys:
            if production:
                raise ConfigError(
                    "SENCOCAL_ENCRYPTION_KEYS",
                    "required in production: one or more Fernet keys, newest first "
                    "(make one with `sencocal admin new-encryption-key`).",
                )
            keys = (Fernet.generate_key().decode(),)
        for i, key in enumerate(keys):
            try:
                Fernet(key.encode())
            except ValueError:
                raise ConfigError(
                    "SENCOCAL_ENCRYPTION_KEYS",
                    f"key {i + 1} is not a Fernet key (32 url-safe base64 bytes).",
                ) from None
        cache = _number(env, "SENCOCAL_FEED_CACHE_SECONDS", 5.0, low=0.0, high=300.0)
        cache_mb = _number(env, "SENCOCAL_FEED_CACHE_MB", 16.0, low=0.0, high=4096.0)
        max_body = int(
            _number(env, "SENCOCAL_MAX_BODY_BYTES", 2_000_000, low=1_000, high=50_000_000)
        )
        proxies = _number(env, "SENCOCAL_TRUSTED_PROXIES", 0, low=0, high=5)
        if proxies != int(proxies):
            raise ConfigError("SENCOCAL_TRUSTED_PROXIES", f"{proxies:g} is not a whole number.")
        try:
            microsoft = MicrosoftSettings.from_mapping(env)
        except SettingProblem as problem:
            raise ConfigError(problem.variable, problem.message) from None
        return cls(
            database_url=database_url,
            public_base_url=public_base_url,
            secret_key=secret_key,
            encryption_keys=keys,
            redis_url=redis_url,
            feed_cache_seconds=cache,
            feed_cache_bytes=int(cache_mb * 1_000_000),
            max_body_bytes=max_body,
            trusted_proxies=int(proxies),
            production=production,
            google=GoogleSettings.from_mapping(env),
            microsoft=microsoft,
        )

    def with_changes(self, **changes: object) -> Config:
        """A copy with some settings replaced (tests and the demo use this)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(name, f"'{value}' is not true or false.")


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(name, f"'{value}' is not a number.") from None
    if not low <= number <= high:
        raise ConfigError(name, f"{value} is out of range ({low:g} to {high:g}).")
    return number


def _check_database_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        raise ConfigError(
            "DATABASE_URL",
            f"'{scheme}' is not supported; use sqlite:///path or postgresql+psycopg://user@host/db.",
        )
    if scheme == "postgresql" or scheme == "postgres":
        raise ConfigError("DATABASE_URL", "write postgresql+psycopg://... (the psycopg 3 driver).")


def _check_base_url(url: str, production: bool) -> str:
    if not url:
        raise ConfigError(
            "PUBLIC_BASE_URL",
            "required in production: the public https address feed links are built on.",
        )
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError("PUBLIC_BASE_URL", f"'{url}' is not an http(s) address.")
    if parts.query or parts.fragment:
        raise ConfigError("PUBLIC_BASE_URL", "must not have a query or fragment.")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        if production:
            raise ConfigError(
                "PUBLIC_BASE_URL",
                "must be https: Outlook and Google Calendar only subscribe to public https feeds.",
            )
    return url.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
