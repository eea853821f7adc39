"""Configuration: validated at start-up, every problem naming its variable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from feedserver import create_app
from feedserver.config import Config, ConfigError

KEY = Fernet.generate_key().decode()
PRODUCTION = {
    "SENCOCAL_PRODUCTION": "true",
    "DATABASE_URL": "postgresql+psycopg://sencocal@db/sencocal",
    "PUBLIC_BASE_URL": "https://calendars.example.org",
    "SECRET_KEY": "x" * 40,
    "SENCOCAL_ENCRYPTION_KEYS": KEY,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_embedded_defaults_need_no_settings(tmp_path):
    config = Config.from_mapping({}, tmp_path)
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'sencocal.db'}"
    assert config.redis_url is None and config.public_base_url == "http://127.0.0.1:8000"
    assert len(config.secret_key) >= 32 and len(config.encryption_keys) == 1


def test_a_complete_production_config_is_accepted():
    config = Config.from_mapping(PRODUCTION)
    assert config.production and config.public_base_url == "https://calendars.example.org"


@pytest.mark.parametrize(
    ("changes", "variable", "words"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL", "'mysql' is not supported"),
        ({"DATABASE_URL": "postgresql://x/db"}, "DATABASE_URL", "postgresql+psycopg://"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL", "must start redis://"),
        ({"PUBLIC_BASE_URL": "http://calendars.example.org"}, "PUBLIC_BASE_URL", "must be https"),
        ({"PUBLIC_BASE_URL": "calendars"}, "PUBLIC_BASE_URL", "is not an http(s) address"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL", "required in production"),
        ({"SECRET_KEY": ""}, "SECRET_KEY", "required in production"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY", "too short"),
        ({"SENCOCAL_ENCRYPTION_KEYS": ""}, "SENCOCAL_ENCRYPTION_KEYS", "required in production"),
        (
            {"SENCOCAL_ENCRYPTION_KEYS": f"{KEY},nonsense"},
            "SENCOCAL_ENCRYPTION_KEYS",
            "key 2 is not a Fernet key",
        ),
        ({"SENCOCAL_FEED_CACHE_SECONDS": "soon"}, "SENCOCAL_FEED_CACHE_SECONDS", "is not a number"),
        ({"SENCOCAL_FEED_CACHE_SECONDS": "900"}, "SENCOCAL_FEED_CACHE_SECONDS", "out of range"),
        ({"SENCOCAL_PRODUCTION": "maybe"}, "SENCOCAL_PRODUCTION", "is not true or false"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(changes, variable, words):
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({**PRODUCTION, **changes})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ") and words in str(caught.value)


def test_create_app_reads_the_environment_and_refuses_bad_values(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "oracle://nope")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app()


def test_the_secret_box_encrypts_with_the_newest_key_and_rotates(tmp_path):
    from feedserver.storage.secretbox import SecretBox, SecretUnreadable

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox((old,)).seal("refresh-token-123")
    both = SecretBox((new, old))
    assert both.open(sealed) == "refresh-token-123"
    rotated = both.rotate(sealed)
    assert SecretBox((new,)).open(rotated) == "refresh-token-123"
    with pytest.raises(SecretUnreadable, match="SENCOCAL_ENCRYPTION_KEYS"):
        SecretBox((new,)).open(sealed)
