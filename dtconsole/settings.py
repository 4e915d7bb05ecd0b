"""dtconsole settings.

Read once, through django-environ. The OS environment wins over an optional ``.env`` file in
the project root; every variable is listed with a comment in ``.env.example``. Development
defaults just work (DEBUG on, SQLite, django-q2's ORM broker). With DEBUG off the console
refuses to start without SECRET_KEY and CREDENTIALS_KEY.
"""

import ipaddress
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# read_env never overwrites a variable that is already set: the OS environment wins.
# ENV_FILE points elsewhere (tests use it to start without the developer's .env).
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# Development-only fallbacks. They are public (they sit in this file), so production must
# replace them: with DEBUG off, a missing value stops the process at start-up.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105
# base64 of the 32 bytes "dev-only-credentials-key-NOT-use": a valid Fernet key, public on purpose.
_DEV_CREDENTIALS_KEY = "ZGV2LW9ubHktY3JlZGVudGlhbHMta2V5LU5PVC11c2U="


def _required_in_production(name: str, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} must be set when DEBUG is off. See .env.example for how to generate one."
    )


SECRET_KEY = _required_in_production("SECRET_KEY", _DEV_SECRET_KEY)
# Fernet key(s) that encrypt DingTalk AppSecrets at rest. A comma-separated list: the first
# key encrypts, every key decrypts (that is how a key is rotated, see README). A malformed
# key stops start-up here, naming the variable, rather than failing later on a page.
CREDENTIALS_KEY = _required_in_production("CREDENTIALS_KEY", _DEV_CREDENTIALS_KEY)


def _check_fernet_keys(name: str, value: str) -> None:
    from cryptography.fernet import Fernet

    keys = [k.strip() for k in value.split(",") if k.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{name}: key {position} of {len(keys)} is not a Fernet key (32 url-safe "
                'base64-encoded bytes). Generate one with: python -c "from cryptography.fernet '
                'import Fernet; print(Fernet.generate_key().decode())"'
            ) from None
    if not keys:
        raise ImproperlyConfigured(f"{name} is empty. See .env.example for how to generate one.")


_check_fernet_keys("CREDENTIALS_KEY", CREDENTIALS_KEY)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "dtconsole.access",
    "dtconsole.accounts",
    "dtconsole.directory",
    "dtconsole.providers",
    "dtconsole.sync",
    "dtconsole.audit",
    "dtconsole.notifications",
    "dtconsole.monitoring",
    "mappings",
    "dtconsole.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A logged-in user's saved language wins over the cookie and Accept-Language.
    "dtconsole.accounts.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Every page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A logged-in user without a role sees the no-access page and nothing else.
    "dtconsole.access.middleware.RoleRequiredMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes counts failed logins in front of Django's ModelBackend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "dtconsole.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dtconsole.access.context_processors.console_role",
                "dtconsole.sync.context_processors.worker",
            ],
        },
    },
]

WSGI_APPLICATION = "dtconsole.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; the timeout rides out the
    # short write locks SQLite takes.
    # IMMEDIATE transactions take the write lock at BEGIN, so a transaction never fails on
    # upgrading a read lock while another process writes; synchronous=NORMAL is safe in WAL
    # mode and saves an fsync per commit.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # The test database is a file, not memory, so that worker processes started by the
    # tests (a real qcluster) see the same data; one file per test process, so that two
    # test runs at once do not share it.
    DATABASES["default"].setdefault(
        "TEST", {"NAME": str(Path(tempfile.gettempdir()) / f"dtconsole-test-{os.getpid()}.sqlite3")}
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Pages show every time in this zone, with its UTC offset (formats in dtconsole/formats/).
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
FORMAT_MODULE_PATH = ["dtconsole.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploaded CSV files are read in memory; refuse anything larger than this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
DIRECTORY_IMPORT_MAX_ROWS = env.int("DIRECTORY_IMPORT_MAX_ROWS", default=50_000)
# The import job writes at most this many rows, for about this many seconds, per transaction,
# then pauses this long (seconds) so that writers waiting for SQLite's one write lock get it:
# SQLite's busy handler sleeps up to 100 ms between tries, and a writer that takes the lock
# straight back would starve them.
DIRECTORY_IMPORT_CHUNK_ROWS = env.int("DIRECTORY_IMPORT_CHUNK_ROWS", default=500)
DIRECTORY_IMPORT_CHUNK_SECONDS = env.float("DIRECTORY_IMPORT_CHUNK_SECONDS", default=0.5)
DIRECTORY_IMPORT_CHUNK_PAUSE = env.float("DIRECTORY_IMPORT_CHUNK_PAUSE", default=0.15)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# HTTPS. On by default in production; behind a proxy that terminates TLS and itself redirects
# HTTP to HTTPS, SECURE_SSL_REDIRECT may be turned off, and SECURE_PROXY_SSL_HEADER tells
# Django which header the proxy sets (README: Running in production).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
# Subdomains of the console's own host and the preload flag: harmless for a console on its
# own host name (a preload list entry still needs a manual submission), and check --deploy
# asks for both.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A load balancer's health check and a Prometheus scrape often reach the web process over
# plain HTTP on the internal network: answer them there instead of redirecting to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# check --deploy warns (W004) when HSTS is off: a TLS-terminating proxy that sets HSTS itself
# may set SECURE_HSTS_SECONDS=0, and that warning is then expected (README).

# Content-Security-Policy (django-csp): everything from this origin, nothing inline, no
# eval; the console and its vendored assets need nothing else.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failures for one username from one
# address, that pair is refused for LOGIN_LOCKOUT_MINUTES; a successful login resets the count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dtconsole.access.lockout.lockout_response"
AXES_VERBOSE = False

REDIS_URL = env.str("REDIS_URL", default="")

# django-q2: the ORM broker by default (no extra service), Redis when REDIS_URL is set.
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="dtconsole"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=3600),
    "retry": env.int("Q_RETRY", default=3700),
    "max_attempts": 1,
    "save_limit": 1000,
    "label": "Background jobs",
    "catch_up": False,
    "poll": 0.2,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# The REST API (dtconsole.api): token or session, any active user reads, staff writes.
# Token first, so a request without credentials gets 401 with "WWW-Authenticate: Token".
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Reading needs a role; every write is checked again by the service it calls.
    "DEFAULT_PERMISSION_CLASSES": ["dtconsole.api.permissions.HasRole"],
    "DEFAULT_PAGINATION_CLASS": "dtconsole.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dtconsole.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["dtconsole.api.parsers.BoundedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# OpenAPI 3 schema (/api/schema/) and Swagger UI (/api/docs/), assets vendored by the sidecar.
SPECTACULAR_SETTINGS = {
    "TITLE": "dtconsole API",
    "DESCRIPTION": (
        "Directory, providers, field mappings, sync jobs and events of dtconsole. "
        "Authenticate with `Authorization: Token <key>` (`manage.py api_token USERNAME`) or "
        "a console session. Every answer needs a role: Viewers read, Operators also run "
        "and decide syncs, Administrators change everything; a refusal is 403 and names "
        "the role needed. A provider's configuration (the provider, its scopes and field "
        "mappings) answers with an ETag; every write to it must send that ETag back in "
        "If-Match: 428 without one, 412 when someone else saved in between."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["dtconsole.api.permissions.HasRole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]",
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "dtconsole.directory.models.Account.Status",
        "JobStatusEnum": "dtconsole.sync.models.SyncJob.Status",
        "EventStatusEnum": "dtconsole.sync.models.SyncEvent.Status",
        "EventActionEnum": "dtconsole.sync.models.SyncEvent.Action",
        "ImportKindEnum": "dtconsole.directory.models.ImportBatch.Kind",
        "ImportStatusEnum": "dtconsole.directory.models.ImportBatch.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # requests' urllib3 logs full URLs, and DingTalk's old API carries access_token in
        # the query string: keep it quiet so tokens never reach a log.
        "urllib3": {"level": "WARNING"},
        # django-axes logs every login at INFO; failures and lockouts are WARNING.
        "axes": {"level": "WARNING"},
    },
}

# DingTalk. DINGTALK_BASE_URL pre-fills a new provider's three API base URLs (empty: DingTalk's
# own hosts; `make run` points it at the local sandbox). The timeout is (connect, read) seconds.
DINGTALK_BASE_URL = env.str("DINGTALK_BASE_URL", default="")
# Hosts a provider's API base URLs may point at (``host`` or ``host:port``): the AppSecret is
# sent to them. Production defaults to DingTalk's own hosts (mainland and international);
# a sandbox must be listed to be used with DEBUG off. In development an empty list allows any.
DINGTALK_HOSTS = [
    f"{service}.dingtalk.{tld}" for tld in ("com", "io") for service in ("oapi", "api", "login")
]
DINGTALK_ALLOWED_HOSTS = env.list("DINGTALK_ALLOWED_HOSTS", default=[]) or (
    [] if DEBUG else DINGTALK_HOSTS
)
DINGTALK_TIMEOUT = (
    env.float("DINGTALK_CONNECT_TIMEOUT", default=3.05),
    env.float("DINGTALK_READ_TIMEOUT", default=10.0),
)
# Developer information shown in the wizard, to paste into DingTalk: the console's public URL
# (callback domain and application homepage) and the IP DingTalk will see calls come from.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000")
EGRESS_IP = env.str("EGRESS_IP", default="")

# A running sync job writes a heartbeat at least this often (seconds) while it works; one
# silent for longer is taken to have lost its worker and is resumed by the watchdog.
SYNC_STALE_SECONDS = env.int("SYNC_STALE_SECONDS", default=60)
# A worker not seen for this long is reported missing (banner, dashboard, /healthz). The
# watchdog schedule beats every minute, so this allows for one late beat.
WORKER_STALE_SECONDS = env.int("WORKER_STALE_SECONDS", default=90)
# Threads that apply user changes in parallel during a sync (the client's pacing still
# keeps every API path under the provider's calls per second). 1 applies one at a time.
SYNC_THREADS = env.int("SYNC_THREADS", default=4)

# Email, for notifications (dtconsole.notifications): sent only where it is configured, that
# is EMAIL_HOST is set or EMAIL_BACKEND names another backend than SMTP (console, file, …).
# The timeout keeps a worker from hanging on a mail server that does not answer.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="dtconsole@localhost")
# /metrics: readable with ``Authorization: Bearer <METRICS_TOKEN>``, from an address in
# METRICS_ALLOWED_IPS (addresses or networks, e.g. 10.0.0.0/8; the peer's address, never a
# forwarded header), or by a logged-in user with a console role. Anyone else gets 401 or
# 403 and no data.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])


def _networks(name: str, entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {entry!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8)."
            ) from None
    return networks


METRICS_ALLOWED_NETWORKS = _networks("METRICS_ALLOWED_IPS", METRICS_ALLOWED_IPS)
