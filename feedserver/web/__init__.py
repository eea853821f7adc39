"""The HTTP surfaces: feeds, the JSON API and the pages (Flask)."""
