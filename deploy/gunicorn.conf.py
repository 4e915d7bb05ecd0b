"""gunicorn settings for `make serve` and systemd/dtconsole-web.service.

Workers: WEB_CONCURRENCY when set, otherwise two per core available to this process plus
one (gunicorn's advice for its synchronous workers). The command line and GUNICORN_CMD_ARGS
win over this file: `make serve` passes --bind HOST:PORT. gunicorn reads the environment,
not .env (systemd's EnvironmentFile puts the file's variables in the environment).
"""

import os


def _cores() -> int:
    """Cores this process may run on (a container's or taskset's limit, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


wsgi_app = "dtconsole.wsgi:application"
bind = "127.0.0.1:8000"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cores() + 1)
# A page never takes this long; a DingTalk call from a page (wizard verification, preview)
# is bounded by DINGTALK_CONNECT_TIMEOUT + DINGTALK_READ_TIMEOUT, retries included.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Access log to stdout (journald under systemd), errors to stderr.
accesslog = "-"
errorlog = "-"
# X-Forwarded-Proto is believed only from these addresses: the TLS proxy on this machine.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The control socket's default path is per user, so two consoles run by one user on one
# machine would share it; nothing here uses it.
control_socket_disable = True
