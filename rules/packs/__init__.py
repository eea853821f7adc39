"""Built-in rule packs (YAML files read by feedserver.catalog)."""
