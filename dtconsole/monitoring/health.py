"""What /healthz reports: the database, the django-q2 broker and a worker's heartbeat."""

import re
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf

from dtconsole.sync import heartbeat

OK = "ok"
# Seconds the broker check waits for Redis: a load balancer's check must not hang.
BROKER_TIMEOUT = 3.0

_broker: Broker | None = None


def queue_broker() -> Broker:
    """The broker the workers take jobs from (the ORM table or Redis), one per process.

    Redis gets a client with timeouts of its own: django-q2's has none, and a health check
    or a scrape must answer even when Redis does not.
    """
    global _broker
    if _broker is None:
        broker = get_broker()
        if isinstance(Conf.REDIS, str) and hasattr(broker, "connection"):
            import redis

            broker.connection = redis.Redis.from_url(
                Conf.REDIS, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
            )
        _broker = broker
    return _broker


def check() -> dict[str, str]:
    """Each part's state: "ok", or the reason it is not (never a secret)."""
    database = check_database()
    return {
        "database": database,
        "broker": check_broker(),
        "worker": check_worker() if database == OK else _("unknown: the database is unavailable"),
    }


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure is the answer, not a crash of the check
        return _("unavailable: %(error)s") % {"error": describe(exc)}
    return OK


def check_broker() -> str:
    """The broker answers: Redis to a ping, the ORM broker's table to a count."""
    try:
        broker = queue_broker()
        broker.ping()
        broker.queue_size()
    except Exception as exc:
        return _("unavailable: %(error)s") % {"error": describe(exc)}
    return OK


def check_worker(now: datetime | None = None) -> str:
    now, seen = now or timezone.now(), heartbeat.last_seen()
    if heartbeat.is_alive(seen, now):
        return OK
    if seen is None:
        return _("no worker has been seen: start one with manage.py qcluster")
    return _("no worker seen for %(seconds)d seconds (last at %(when)s; allowed %(limit)d)") % {
        "seconds": (now - seen).total_seconds(),
        "when": seen.isoformat(timespec="seconds"),
        "limit": settings.WORKER_STALE_SECONDS,
    }


# A password in a URL (scheme://user:password@host) or a libpq DSN (password=...).
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_DSN_PASSWORD = re.compile(r"(password\s*=\s*)\S+", re.IGNORECASE)


def describe(exc: Exception) -> str:
    """The error's type and first line, with any password in a URL or DSN masked."""
    first = (str(exc).strip().splitlines() or [""])[0]
    text = _DSN_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", first))
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
