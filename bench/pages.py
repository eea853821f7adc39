"""Benchmark: server time of every page on the demo data (target: each under 100 ms).

    python bench/pages.py [--repeat 30]

Builds the demo in a temp dir and requests each page in-process through Flask's test client
(no network, no browser: the figure is the server's own time to answer). The first request of
each page is timed apart (cold: the evaluation memo and templates are empty); then the median and
95th percentile of ``--repeat`` requests. Form posts include checking a change (which evaluates the
school's two-year window twice, before and after).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feedserver.demo_setup import build_demo  # noqa: E402

TARGET_MS = 100.0


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, lines = build_demo(8000, dt.date(2026, 11, 23), directory=Path(tmp))
        key = next(line.rsplit(": ", 1)[1] for line in lines if line.startswith("admin API key"))
        feed_url = next(line.rsplit(": ", 1)[1] for line in lines if line.startswith("slt "))
        token = feed_url.rsplit("/", 1)[1].removesuffix(".ics")
        client = app.test_client()
        token_field = csrf(client.get("/sign-in").text)
        client.post("/sign-in", data={"csrf_token": token_field, "key": key})
        form = csrf(client.get("/admin").text)
        school = "/schools/demo-primary"
        pages = [
            ("sign-in", "GET", "/sign-in", None),
            ("admin: all schools", "GET", "/admin", None),
            ("coming 6 weeks", "GET", school, None),
            ("coming 26 weeks, SLT", "GET", f"{school}?weeks=26&audience=slt", None),
            ("settings", "GET", f"{school}/settings", None),
            ("feeds", "GET", f"{school}/feeds", None),
            ("subscribe", "GET", f"/subscribe/{token}", None),
            ("check a change (INSET)", "POST", f"{school}/settings/inset",
             {"csrf_token": form, "inset_days": "2026-09-01\n2026-09-02\n2027-01-04", "closure_days": ""}),
            ("check a change (a rule off)", "POST", f"{school}/settings/rules",
             {"csrf_token": form, "year": "2026", "rule": "senco-annual-cycle:slt-send-meeting"}),
        ]  # fmt: skip
        print(
            f"sencocal page benchmark: demo data, in-process, {args.repeat} requests per page after one cold request"
        )
        print(
            f"{'page':<30} {'cold ms':>9} {'median ms':>10} {'p95 ms':>8} {'bytes':>9}  target < {TARGET_MS:g} ms"
        )
        worst = 0.0
        for name, method, path, data in pages:
            times = []
            size = 0
            for _ in range(args.repeat + 1):
                started = time.perf_counter()
                answer = client.open(path, method=method, data=data)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (name, answer.status_code)
                size = len(answer.data)
            cold, warm = times[0], sorted(times[1:])
            median = statistics.median(warm)
            p95 = warm[int(len(warm) * 0.95) - 1]
            worst = max(worst, p95)
            verdict = "met" if p95 < TARGET_MS else "NOT met"
            print(f"{name:<30} {cold:>9.1f} {median:>10.1f} {p95:>8.1f} {size:>9,}  {verdict}")
        print(
            f"slowest page p95: {worst:.1f} ms ({'all under' if worst < TARGET_MS else 'not all under'} {TARGET_MS:g} ms)"
        )
        app.extensions["sencocal"].db.dispose()


if __name__ == "__main__":
    main()
