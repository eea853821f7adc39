"""The connector contract against the Microsoft Graph emulator (unchanged from Google's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.contract import ContractTests
from tests.connectors.kits import GraphKit
from tests.emulators.graph import GraphEmulator


@pytest.fixture
def kit() -> Iterator[GraphKit]:
    with GraphEmulator() as emulator:
        yield GraphKit(emulator)


class TestMicrosoft(ContractTests):
    """Microsoft 365 (Graph) passes the contract."""
