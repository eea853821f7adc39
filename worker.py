"""The rq worker: ``python worker.py [QUEUE ...]`` runs sencocal's jobs from Redis.

It builds its services from the environment (``REDIS_URL``, ``DATABASE_URL``, ...) with no Flask
app, checks that the database is set up, and works the queues in priority order (default
``evaluate``, ``fanout``, ``sync``) with rq's scheduler, which moves retries whose time has come
back onto their queues. Run as many as you like, on as many machines, against the same
PostgreSQL and Redis; ``deploy/`` has the systemd units.

By default jobs run inside the worker process (rq's ``SimpleWorker``), so the evaluation memo
stays warm from one school to the next; ``--fork`` runs each job in a forked child instead
(isolation at the cost of speed).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from feedserver import errors, runtime
from feedserver.config import Config, ConfigError
from feedserver.pipeline.dispatch import QUEUES, RqDispatcher


def main(argv: list[str] | None = None) -> int:
    """Start a worker; the exit status."""
    parser = argparse.ArgumentParser(prog="python worker.py", description=__doc__.splitlines()[0])
    parser.add_argument("queues", nargs="*", default=list(QUEUES), help="queues, first first")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--fork", action="store_true", help="run each job in a forked child")
    parser.add_argument("--name", default=None, help="the worker's name in rq")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = Config.from_mapping(os.environ)
        if not config.redis_url:
            raise ConfigError("REDIS_URL", "set it to the Redis the web app queues jobs in.")
        services = runtime.Services.from_config(config)
        services.db.check_ready()
    except (ConfigError, errors.ServiceUnavailable) as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 1
    runtime.install(services)
    from rq import SimpleWorker, Worker

    assert isinstance(services.jobs, RqDispatcher)
    queues = [services.jobs.queue(name) for name in args.queues]
    worker_class = Worker if args.fork else SimpleWorker
    worker = worker_class(queues, connection=services.jobs.connection, name=args.name)
    try:
        worker.work(burst=args.burst, with_scheduler=True)
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
