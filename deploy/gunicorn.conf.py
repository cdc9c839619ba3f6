"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py app:app`.

`flask check-deploy` reads this file (its default --gunicorn-config) as gunicorn does. GUNICORN_CMD_ARGS
overrides what is set here; PORT does not (it only changes gunicorn's default bind, and bind is set).
"""

import os

# Only this machine: nginx in front reads each whole request before passing it on. Never a public
# address: gunicorn's sync workers each hold one connection until its request has arrived, so a few
# clients trickling their headers (slowloris) would hang every worker. Behind nginx, set PROXY_FIX_HOPS=1.
bind = "127.0.0.1:8000"

# gunicorn's rule of thumb, 2 per core + 1, counting the cores this process may use (a container's
# share, not the host's), capped: the site is small and every worker holds its own database connections.
# WEB_CONCURRENCY overrides it. With more than one worker, RATELIMIT_STORAGE_URI must be redis://.
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * _cores + 1, 9))

# A request that takes longer than this is killed and its worker restarted (the slowest pages, an
# import of posts, take a few seconds); SMTP never runs in a request (MAIL_TIMEOUT bounds the worker).
timeout = 30
# On SIGTERM or a restart, requests under way get this long to finish.
graceful_timeout = 30
# nginx reuses connections to gunicorn only with `keepalive` in its upstream block; 5 s covers it.
keepalive = 5

# Access log to standard output (gunicorn's "-"), errors to standard error: under systemd both reach the
# journal. The site's logger class leaves admin query strings, reset-link tokens and the Referer out, adds
# the request id, and writes JSON when LOG_FORMAT=json (coaching/operations/access_log.py).
accesslog = "-"
errorlog = "-"
logger_class = "coaching.operations.access_log.AccessLogger"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms id=%({x-request-id}o)s "%(a)s"'

# preload_app stays off: each worker builds its own app after the fork, so no database connection,
# lock or thread is ever shared between processes, and `kill -HUP` (a graceful reload) picks up new
# code. Preloading would save a little memory and report a refused setting once instead of per
# worker, which `flask check-deploy` before starting does better.
preload_app = False
