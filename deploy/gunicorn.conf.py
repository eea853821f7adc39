"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py feedserver.wsgi:app``.

The access log never contains a secret from an address (feed and subscribe tokens, sign-in
links), however the path is spelled: feedserver.web.logs.GunicornLogger redacts the request
line, path, query and Referer atoms on the decoded path, and the app's loggers do the same.
"""

import os

bind = os.environ.get("SENCOCAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
keepalive = 5
timeout = 30
accesslog = os.environ.get("SENCOCAL_ACCESS_LOG", "-")
errorlog = "-"
logger_class = "feedserver.web.logs.GunicornLogger"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss "%(a)s"'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn >= 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default, so two instances on
# one host collide; sencocal does not use it.
control_socket_disable = True
