"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py`` (the systemd unit
``hanoi-payments-web.service`` runs it). Every value may be changed here; docs/OPERATIONS.md
explains them."""
import os
import shutil

wsgi_app = "app:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # nginx in front, on the same host
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))  # about one per core: PERFORMANCE.md
worker_class = "gthread"  # threads: requests wait on the database, not on the CPU
# A worker answers callbacks in group commits (reconciliation/inbound/group_commit.py): the
# callbacks its threads hold at once share one transaction, so threads bound the batches. 16
# threads served 30 % more callbacks than 8 on 2 cores (docs/BENCHMARKS.md); the database pool
# (core/db.py) lets all 16 hold a connection at once.
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = 60  # a statement upload of a few hundred MB is read in well under that
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = "127.0.0.1,::1"  # only nginx on this host may say https (the app's ProxyFix does the rest)
control_socket_disable = True  # no runtime-control socket: systemd manages the process
accesslog = None  # the app writes one JSON line per request itself (core/requestlog.py)
errorlog = "-"
loglevel = "info"
# gunicorn's own messages (start, worker deaths) as JSON lines too; the root logger is left to
# the app, which adds one handler in the format of LOG_FORMAT.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "formatters": {"json": {"()": "core.requestlog.JsonFormatter"}},
}

# Prometheus in multiprocess mode: every worker counts in files under this directory (set in
# the unit's environment, before the app is imported), emptied when gunicorn starts, and a
# dead worker's live gauges are dropped.
_METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    if _METRICS_DIR:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)
        os.makedirs(_METRICS_DIR, mode=0o700, exist_ok=True)


def child_exit(server, worker):
    if _METRICS_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
