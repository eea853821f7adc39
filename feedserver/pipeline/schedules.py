"""The schedules, for rq's own cron: ``rq cron feedserver.pipeline.schedules --url $REDIS_URL``.

Run exactly one scheduler per installation (a second would enqueue everything twice; the jobs
converge, so that wastes work but breaks nothing). Cron times are the scheduler machine's local
time: run it with ``TZ=Europe/London`` (``deploy/`` does).

* nightly, 02:15: schools whose inputs changed are re-evaluated, changed feeds re-rendered;
* 1 September, 00:05: the rollover (the window moves on a year, so every school is re-evaluated
  and last year's rows pruned);
* Mondays, 06:00: the readiness check (next year's term dates and national dates), whose
  findings the admin page shows.
"""

from __future__ import annotations

from rq import cron

from feedserver.pipeline import jobs

cron.register(
    jobs.refresh_stale,
    queue_name="fanout",
    kwargs={"reason": "nightly"},
    cron="15 2 * * *",
    name="nightly refresh",
)
cron.register(
    jobs.refresh_stale,
    queue_name="fanout",
    kwargs={"reason": "rollover"},
    cron="5 0 1 9 *",
    name="1 September rollover",
)
cron.register(
    jobs.readiness_check,
    queue_name="fanout",
    kwargs={"reason": "weekly"},
    cron="0 6 * * 1",
    name="weekly readiness check",
)
