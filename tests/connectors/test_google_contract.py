"""The connector contract against the Google Calendar emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.contract import ContractTests
from tests.connectors.kits import GoogleKit
from tests.emulators.google_calendar import GoogleCalendarEmulator


@pytest.fixture
def kit() -> Iterator[GoogleKit]:
    with GoogleCalendarEmulator() as emulator:
        yield GoogleKit(emulator)


class TestGoogle(ContractTests):
    """Google Calendar passes the contract."""
