"""Connectors to remote calendars (Google, Microsoft 365) and the pure sync planner."""
