"""Bundled demo data: an example LA pack and two demo schools."""
