"""Settings for the satisfaction-management product.

Every value that differs between a laptop and production comes from the environment, read here
once through the typed helpers in ``satisfaction.env``. With nothing set the product runs on a
SQLite file with Celery tasks executed eagerly in-process; with ``DATABASE_URL`` and
``CELERY_BROKER_URL`` it runs on PostgreSQL + Redis + Celery worker/beat.
"""

from __future__ import annotations

import re
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured

from satisfaction.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)
_secret_key = env_str("SECRET_KEY")
if not _secret_key:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    _secret_key = "insecure-development-key-only-for-debug-0123456789-abcdefghijklmnop"  # noqa: S105
SECRET_KEY: str = _secret_key

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "satisfaction",
    "surveys",
    "mystery_shopper",
    "complaints",
    "internal_service",
    "pulse",
    "scoring",
    "dashboard",
    "pos",
    # After the project's apps: their translations take precedence over its catalogue.
    "simple_history",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A NUL byte / non-UTF-8 in the path, query, cookies, headers or form fields: 400.
    "satisfaction.middleware.HostileInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy (django-csp), and Cache-Control: private, no-store on every
    # dynamic answer (satisfaction.security; static files are served above them).
    "csp.middleware.CSPMiddleware",
    "satisfaction.security.PrivateCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A login ends after SESSION_IDLE_TIMEOUT_SECONDS idle or SESSION_COOKIE_AGE in all.
    "satisfaction.security.SessionIdleTimeoutMiddleware",
    # A logged-in request then works with its user itself, not a lazy proxy (the reason there).
    "satisfaction.security.ResolvedUserMiddleware",
    # Policy history (satisfaction/history.py) records the user of the request that saves.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "satisfaction.middleware.ApplicationErrorMiddleware",
    # Axes last: it reads the authenticated user that the middleware above sets up.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "satisfaction.urls"
WSGI_APPLICATION = "satisfaction.wsgi.application"
AUTH_USER_MODEL = "satisfaction.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "satisfaction.context_processors.unread_notifications",
                # Each app's named rules for its templates (``<app>/rules.py``).
                "satisfaction.rules.template_flags",
                "surveys.rules.template_flags",
                "mystery_shopper.rules.template_flags",
                "complaints.rules.template_flags",
                "scoring.rules.template_flags",
                "dashboard.rules.template_flags",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", default=60, minimum=0)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server and an eager task write without "database is
    # locked"; PostgreSQL is the production engine.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# Read replica (docs/scaling.md, "Read replica"): reads inside satisfaction.db_router's
# replica_reads() (dashboard pages, exports) go to it; without the variable the alias points at
# default and every query goes to default. Tests mirror it onto default's test database.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL") or ""
DATABASES["replica"] = (dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=env_int(
    "DB_CONN_MAX_AGE", default=60, minimum=0)) if DATABASE_REPLICA_URL
    else dict(DATABASES["default"]))
DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_REPLICA_ALIAS = "replica" if DATABASE_REPLICA_URL else None
#: How long a block waits for a lagging standby before it reads default instead.
DATABASE_REPLICA_MAX_WAIT_MS = env_int("DATABASE_REPLICA_MAX_WAIT_MS", default=100, minimum=0)
DATABASE_ROUTERS = ["satisfaction.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, throttles) ---------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # Fail fast when Redis is unreachable: the rate limits and the POS throttle then count per
    # process (satisfaction.ratelimit) instead of holding requests for the OS's TCP timeout.
    # Django's Redis cache, keeping its redis-py client (satisfaction/cache.py says why).
    CACHES = {"default": {"BACKEND": "satisfaction.cache.RedisCache",
                          "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id (argon2-cffi) at OWASP's parameters (satisfaction/hashers.py says why not Django's)
# hashes new passwords; Django's hashers after it still verify older hashes, and a login with
# one rehashes it.
PASSWORD_HASHERS = [
    "satisfaction.hashers.OwaspArgon2PasswordHasher",  # verifies any Argon2 hash too
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Five failed logins for one username from one client lock that pair out for 15 minutes;
# twenty from one client whatever the usernames (password spraying) lock the client out. Axes
# has one limit for all its lockout parameters; satisfaction.security.LoginThrottleHandler gives
# each combination its own (the first AXES_FAILURE_LIMIT, the second AXES_CLIENT_FAILURE_LIMIT).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", default=5, minimum=1)
AXES_CLIENT_FAILURE_LIMIT = env_int("AXES_CLIENT_FAILURE_LIMIT", default=20, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours
# The order matters: LoginThrottleHandler reads axes' attempts per entry in this order (the
# first against AXES_FAILURE_LIMIT, the second against AXES_CLIENT_FAILURE_LIMIT).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "satisfaction.security.LoginThrottleHandler"
# The client's address behind TRUSTED_PROXY_COUNT proxies (the same one the rate limits use).
AXES_CLIENT_IP_CALLABLE = "satisfaction.ratelimit.client_ip"
# A successful login clears that username's failures from that client only.
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE") or "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
# Evidence and attachments are never served from a public URL: views check access and stream.
MEDIA_URL = "/media-not-public/"
# A missing manifest entry falls back to the plain name instead of failing the page.
WHITENOISE_MANIFEST_STRICT = False
STORAGES = {
    "default": {"BACKEND": env_str("FILE_STORAGE_BACKEND")
                or "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# S3-compatible evidence store through django-storages, when FILE_STORAGE_BACKEND names it.
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL")
AWS_DEFAULT_ACL = None
AWS_QUERYSTRING_AUTH = True
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", default=20 * 1024 * 1024, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend" if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", default=25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "satisfaction@localhost"

# WeCom / DingTalk group-robot webhook for alerts (empty: no webhook).
NOTIFICATION_WEBHOOK_URL = env_str("NOTIFICATION_WEBHOOK_URL") or ""

# The chain's name as customers know it: the brand of the customer pages and the letterhead of
# the complaint handling report sent to a customer (empty: the store's name; never the
# product's internal name). A development run shows the demo chain's name.
DEMO_CHAIN_NAME = "康宁大药房"
CHAIN_NAME = env_str("CHAIN_NAME") or (DEMO_CHAIN_NAME if DEBUG else "")

# Public base URL for links printed on posters and receipts (QR codes, short links).
PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")

# --- Security -------------------------------------------------------------------------------
SECURE = not DEBUG
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SESSION_COOKIE_HTTPONLY = True
# Sessions are read from the cache (Redis when REDIS_URL is set) and written through to the
# database, so a page costs no session query and a flushed cache loses no login.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# A login ends SESSION_COOKIE_AGE seconds after it began (7 days), however active, and after
# SESSION_IDLE_TIMEOUT_SECONDS without a request (8 hours): satisfaction.security.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", default=7 * 24 * 3600, minimum=60)
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", default=8 * 3600,
                                       minimum=60)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=SECURE)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31536000 if SECURE else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
# Proxies of our own in front of the app (TLS terminator, load balancer). Only with some are
# X-Forwarded-For (the client is the Nth address from the right: satisfaction.ratelimit.
# client_ip) and X-Forwarded-Proto believed: without a proxy, any client could send them.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", default=0, minimum=0)
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# An expired or missing form token (a form left open past the session) explains itself.
CSRF_FAILURE_VIEW = "satisfaction.views.csrf_failure"
# /healthz is probed over plain HTTP by load balancers and compose health checks.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Content-Security-Policy (django-csp) ---------------------------------------------------
# No inline script or style: every page's code and styles are static files, data for scripts
# travels in <script type="application/json"> blocks and data-* attributes. Only the API
# browsers get a relaxed policy (csp_replace: satisfaction.urls, satisfaction.api_errors).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "img-src": [CSP_SELF, "data:"],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
        "form-action": [CSP_SELF],
    },
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON only, with size and depth limits; the views that take files add multipart.
    "DEFAULT_PARSER_CLASSES": ["satisfaction.api_errors.LimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "satisfaction.api_schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "satisfaction.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Satisfaction management API",
    "DESCRIPTION": "Surveys, mystery-shopper visits, complaints and satisfaction scores "
                   "of the pharmacy chain.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several apps have a "status", "channel" or "grade" field; name each choice set once.
    "ENUM_NAME_OVERRIDES": {
        "ComplaintGradeEnum": "complaints.models.Grade",
        "ComplaintStatusEnum": "complaints.models.Status",
        "ComplaintChannelEnum": "complaints.models.Channel",
        "ComplaintAppealStatusEnum": "complaints.models.AppealStatus",
        "SurveyChannelEnum": "surveys.models.Channel",
        "SurveyResponseStatusEnum": "surveys.models.ResponseStatus",
        "VisitStatusEnum": "mystery_shopper.models.VisitStatus",
        "VisitAppealStatusEnum": "mystery_shopper.models.AppealStatus",
        "ScorecardItemKindEnum": "mystery_shopper.models.ItemKind",
        "ScorecardEvidenceEnum": "mystery_shopper.models.EvidenceKind",
        "EvidenceFileKindEnum": ["photo", "audio"],
        "TraceInputKindEnum": "scoring.evidence.KIND_NAMES",
        "RollupStatusEnum": "scoring.models.RollupStatus",
        "EmployeeRoleEnum": "satisfaction.models.EmployeeRole",
        "ImprovementActionStatusEnum": "dashboard.models.ActionStatus",
    },
}

# --- POS integration (pos/, docs/pos-integration.md) -------------------------------------
# Keyed hash of loyalty member ids: a member id is never stored, only HMAC-SHA256 under this key.
# Keep it stable (changing it breaks loyalty figures across the change); defaults from SECRET_KEY.
POS_MEMBER_HASH_KEY = env_str("POS_MEMBER_HASH_KEY") or f"pos-member:{SECRET_KEY}"
# Share of receipts (0-1) that get a survey invitation when their store runs a campaign;
# decided by a hash of store code + receipt number, so a retry gets the same answer.
POS_SURVEY_SAMPLE_SHARE = env_float("POS_SURVEY_SAMPLE_SHARE", default=0.1, minimum=0, maximum=1)
POS_SURVEY_INVITATION_DAYS = env_int("POS_SURVEY_INVITATION_DAYS", default=7, minimum=1)
POS_BATCH_MAX_ITEMS = 1000
# Default per-key request rate (a key's own throttle_rate overrides it).
POS_THROTTLE_RATE = env_str("POS_THROTTLE_RATE") or "1200/min"
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", POS_THROTTLE_RATE):
    raise ImproperlyConfigured("POS_THROTTLE_RATE must look like 1200/min.")
# Receipts dated further in the future than this (clock skew allowance) are refused.
POS_MAX_CLOCK_SKEW_SECONDS = 600

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or ""
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Results are not kept (no task result is read) unless a bench asks (bench/alert_during_rollup.py).
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
# Every task of the product is safe to run twice (docs/operations.md says why, task by task),
# so a task whose worker process died goes back to the queue instead of being dropped. A new
# task that is not idempotent must say reject_on_worker_lost=False.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands an unacknowledged task (acks late: acknowledged when it ends) to another worker
# after this long. It must exceed the longest task, the quarterly rollup, plus the time a
# reserved task waits behind it; it is also how long a task of a killed worker waits before it
# is run again (the sweeps do not wait for that: the next beat run catches up).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_TIMEZONE = TIME_ZONE
# Apps add their periodic tasks here; exactly one beat process runs (see README).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "satisfaction-beat-heartbeat": {
        "task": "satisfaction.tasks.beat_heartbeat",
        "schedule": crontab(minute="*/5"),
    },
    # satisfaction: send the outbox's due e-mails and webhooks (retries with backoff included);
    # a run that waited past the next one is dropped, the next one catches up anyway.
    "satisfaction-send-due-deliveries": {
        "task": "satisfaction.tasks.send_due_deliveries",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # mystery shopper: remind shoppers of visits due within 3 days and overdue (once per visit
    # and stage), in the morning of the chain's day.
    "mystery-shopper-visit-reminders": {
        "task": "mystery_shopper.tasks.send_visit_reminders",
        "schedule": crontab(minute=0, hour=8),
    },
    # satisfaction: forget sent deliveries after DELIVERY_KEEP_DAYS (failed ones stay).
    "satisfaction-purge-sent-deliveries": {
        "task": "satisfaction.tasks.purge_sent_deliveries",
        "schedule": crontab(minute=40, hour=3),
    },
    # satisfaction: background jobs' uploads and result files are kept for a day.
    "satisfaction-delete-old-job-files": {
        "task": "satisfaction.tasks.delete_old_job_files",
        "schedule": crontab(minute=25),
    },
    # surveys: flag stores whose answers look manufactured (each store once per campaign).
    "surveys-scan-open-campaigns": {
        "task": "surveys.tasks.scan_open_campaigns",
        "schedule": crontab(minute=17),
    },
    # complaints: the SLA sweep scans the due-time index every minute (never ETA tasks); a run
    # that waited in the queue past the next one is dropped, the next run catches up anyway.
    "complaints-sla-sweep": {
        "task": "complaints.tasks.sla_sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # complaints: early warning, once a day before the stores open: spikes per store / region
    # and category over the last 7 whole days (each new spike alerted once).
    "complaints-spike-sweep": {
        "task": "complaints.tasks.spike_sweep",
        "schedule": crontab(minute=30, hour=6),
    },
    # scoring: the running quarter every night (provisional); the finished quarter once, on the
    # first day of the next quarter.
    "scoring-rollup-running-quarter": {
        "task": "scoring.tasks.rollup_running_quarter",
        "schedule": crontab(minute=30, hour=2),
    },
    "scoring-rollup-finished-quarter": {
        "task": "scoring.tasks.rollup_finished_quarter",
        "schedule": crontab(minute=0, hour=4, day_of_month=1, month_of_year="1,4,7,10"),
    },
    # dashboard: the loyalty figures of the store and region pages (every store's and the
    # medians, one chain pass per quarter), so that no page request computes them; a run that
    # waited past the next one is dropped.
    "dashboard-refresh-loyalty-figures": {
        "task": "dashboard.tasks.refresh_loyalty_figures",
        "schedule": crontab(minute="5,35"),
        "options": {"expires": 25 * 60},
    },
    # dashboard: the monthly reports, every morning after the night's rollup; the task sends only
    # from the first working day of the month and catches up anyone not yet served (idempotent).
    "dashboard-monthly-reports": {
        "task": "dashboard.tasks.send_monthly_reports",
        "schedule": crontab(minute=0, hour=7),
    },
}

# --- Notification delivery: the outbox (satisfaction.delivery, docs/operations.md) ----------
# Tries of one e-mail / webhook call before it is marked failed (HQ may resend it). Retries
# wait 1, 2, 4, 8 … minutes (capped at an hour): 8 tries span about two hours.
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", default=8, minimum=1)
DELIVERY_RETRY_BASE_SECONDS = 60
DELIVERY_RETRY_MAX_SECONDS = 60 * 60
# A row being sent is leased for this long; if its worker dies it is due again afterwards.
DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", default=300, minimum=1)
DELIVERY_SEND_TIMEOUT_SECONDS = 10  # per SMTP operation / webhook request
EMAIL_TIMEOUT = DELIVERY_SEND_TIMEOUT_SECONDS
DELIVERY_SWEEP_LIMIT = 1000  # rows one sweep run sends at most; the next run goes on
# Sweeps a burst's commit asks for at once (satisfaction.delivery.senders_for): at most one per
# process of the alerts worker (docs/operations.md runs it with --concurrency 2), each starting
# on its own share of the burst's batches.
DELIVERY_SENDERS = env_int("DELIVERY_SENDERS", default=2, minimum=1)
DELIVERY_KEEP_DAYS = 30  # sent rows are deleted after this many days
# Directory of django.core.mail.backends.filebased.EmailBackend (staging, the worker test).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH")

# --- Mystery shopper ------------------------------------------------------------------------
MYSTERY_SHOPPER_DEFAULT_VISITS = 2  # visits per store per quarter without a frequency row

# --- Surveys --------------------------------------------------------------------------------
SURVEY_INVITATION_DAYS = 7  # receipt links expire after this many days (per-call override)
SURVEY_PUBLIC_SUBMISSIONS_PER_HOUR = 10  # accepted answers per store and client, then 429
SURVEY_MIN_SECONDS_PER_QUESTION = 2  # faster answers are flagged as speeders
SURVEY_BURST_WINDOW_MINUTES = 10
SURVEY_BURST_COUNT = 2  # a third answer from one device within the window is flagged
SURVEY_CLUSTER_WINDOW_MINUTES = 10
# The scoring scheme owns the indicator weights; the survey results pages read them through
# this function (wiring: surveys may not import scoring).
SURVEY_INDICATOR_WEIGHTS = "scoring.survey_weights.indicator_weights_for_quarter"
# ... and the deduction points per grade, which the complaint grade setup page shows.
COMPLAINT_GRADE_POINTS = "scoring.survey_weights.grade_points_current"

# --- Policy history (django-simple-history; satisfaction/history.py) -----------------------
# The admin's history shows the changes but never "reverts" one: that would save a policy past
# its service's validation. A change is made again through the admin or the page.
SIMPLE_HISTORY_REVERT_DISABLED = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line names the client's address where the record has the request (else "-").
    "filters": {"client_ip": {"()": "satisfaction.ratelimit.ClientIPLogFilter"}},
    "formatters": {"default": {
        "format": "%(asctime)s %(levelname)s %(name)s [%(client_ip)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["client_ip"],
                             "formatter": "default"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A startup banner on every manage.py command; lockouts are still logged (WARNING).
        "axes.apps": {"level": "WARNING"},
        # Eager tasks run inside the request or command that queued them: one "Task ...
        # succeeded" line each would drown the console; failures are still logged (ERROR).
        # A real worker keeps its per-task lines.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}

# Display names of the roles are kept with the model; this just names the default demo password.
DEMO_PASSWORD_DEFAULT = "demo-pass-2026"  # noqa: S105
