"""The long-lived objects one app holds (in ``app.extensions["sencocal"]``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app

import rules
from feedserver.clock import Clock
from feedserver.config import Config
from feedserver.db import Database
from feedserver.secretbox import SecretBox

if TYPE_CHECKING:
    from feedserver.feeds import FeedCache


@dataclass
class Services:
    """Config, database, clock, evaluation memo, feed cache and secret box of one app."""

    config: Config
    db: Database
    clock: Clock
    feed_cache: FeedCache
    secretbox: SecretBox
    memo: rules.Memo = field(default_factory=rules.Memo)


def services() -> Services:
    """The current app's services."""
    found: Services = current_app.extensions["sencocal"]
    return found
