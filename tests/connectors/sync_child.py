"""A sync in a worker process of its own, for the contract's killed-worker tests.

``python tests/connectors/sync_child.py CONFIG.json`` builds the remote the config names, a real
ledger on the config's database, and syncs ``contract.desired_events()``; the test kills it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from feedserver.storage.connections import SqlLedger
from feedserver.storage.db import Database
from tests.connectors import contract, kits


def main(path: str) -> int:
    config = json.loads(Path(path).read_text())
    db = Database(config["ledger"])
    ledger = SqlLedger(db, config["connection"], contract.NOW)
    remote = kits.remote_from_config(config)
    contract.engine.sync(remote, contract.desired_events(), ledger, contract.TODAY,
                         backoff=contract.FAST)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
