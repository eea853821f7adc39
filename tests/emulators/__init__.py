"""Local emulators of Google Calendar and Microsoft Graph, for tests that use the real clients."""

from tests.emulators.faults import Fault, Faults
from tests.emulators.google_calendar import GoogleCalendarEmulator
from tests.emulators.graph import GraphEmulator

__all__ = ["Fault", "Faults", "GoogleCalendarEmulator", "GraphEmulator"]
