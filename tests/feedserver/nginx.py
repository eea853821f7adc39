"""deploy/nginx.conf run for real on loopback, in front of a test's gunicorn.

The shipped site file is rewritten only where a loopback test must differ (plain http on a free
port, temp directories, the test's upstream port, the port-80 redirect left out), as
bench/feeds.py does; everything that decides logging and caching is the shipped text.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.feedserver.served import free_port

SHIPPED = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def site_config(tmp: Path, port: int, app_port: int) -> str:
    """The shipped site file, made runnable on 127.0.0.1:``port`` in front of ``app_port``."""
    text = SHIPPED.read_text()
    rewrites = [
        (r"^[ \t]*# bench:skip-begin.*?# bench:skip-end[^\n]*\n", "", re.S | re.M),
        (r"listen 443 ssl( http2)?;", f"listen 127.0.0.1:{port};", 0),
        (r"^[ \t]*listen \[::\]:443[^\n]*\n", "", re.M),
        (r"^[ \t]*ssl_\w+[^\n]*\n", "", re.M),
        (r"proxy_cache_path /var/cache/nginx/sencocal ", f"proxy_cache_path {tmp}/cache ", 0),
        (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{app_port};", 0),
        (r"/var/log/nginx/", f"{tmp}/logs/", 0),
    ]
    for pattern, replacement, flags in rewrites:
        text, n = re.subn(pattern, replacement, text, flags=flags)
        assert n, f"deploy/nginx.conf changed shape: {pattern!r} no longer matches"
    return text


def main_config(tmp: Path, site: str) -> str:
    """A whole nginx.conf around the site file (Debian's http defaults, temp paths)."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {tmp}/nginx.pid;\n"
        f"error_log {tmp}/logs/main-error.log warn;\nevents {{ worker_connections 256; }}\n"
        "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    access_log {tmp}/logs/default-access.log;\n"
        + "".join(f"    {kind}_temp_path {tmp}/tmp/{kind};\n"
                  for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + site + "\n}\n"
    )  # fmt: skip


@dataclass
class Front:
    """A running nginx: its base URL and its log directory."""

    base_url: str
    logs: Path

    def log_text(self) -> str:
        """Every log nginx wrote (access and error, the site's and the main one)."""
        return "".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))


@contextlib.contextmanager
def nginx(tmp: Path, app_port: int) -> Iterator[Front]:
    """Run deploy/nginx.conf in front of 127.0.0.1:``app_port``."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is missing: apt-get install -y nginx")
    tmp = tmp / "nginx"
    for sub in ("logs", "cache", "tmp"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(main_config(tmp, site_config(tmp, port, app_port)))
    check = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(base_url + "/healthz", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # nginx answers (the app may be down on purpose)
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield Front(base_url, tmp / "logs")
    finally:
        proc.terminate()
        proc.wait(10)
