"""sencocal's service edge: the CLI, ICS rendering and bundled data (the Flask app comes next)."""
