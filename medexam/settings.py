"""Django settings for medexam.

Every value that differs between a laptop and production comes from the
environment through medexam.env. With no variables set, the project runs
on the embedded default: a SQLite file beside manage.py and Celery tasks
executed in-process (CELERY_TASK_ALWAYS_EAGER). Production sets
DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from medexam.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    read_or_create_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)

# The embedded default: no DATABASE_URL means a single-machine trial on a
# SQLite file, served over plain HTTP by the development server.
DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED = not DATABASE_URL

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (or DJANGO_SECRET_KEY_FILE) to a long random "
            "string; it signs sessions and password-reset links."
        )
    SECRET_KEY = read_or_create_secret_key(BASE_DIR / ".secret_key")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "medexam.apps.MedexamConfig",
    "review.apps.ReviewConfig",
    "workers.apps.WorkersConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "medexam.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "medexam.urls"
WSGI_APPLICATION = "medexam.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: PostgreSQL in production, a SQLite file when DATABASE_URL is unset.
DATABASES = {"default": database_from_url(DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Reviewers submit while workers write responses: wait for the write lock
    # instead of failing at once with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# ModelBackend that rejects a locked username before checking its password.
AUTHENTICATION_BACKENDS = ["medexam.login_throttle.ThrottledModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Chinese first: zh-hans is the default, English is one click away.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "medexam" / "locale", BASE_DIR / "review" / "locale"]
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
# Production serves hashed files collected by collectstatic; the embedded
# default and tests serve straight from the apps' static folders.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or EMBEDDED
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT") or BASE_DIR / "media")

# Security: HTTPS-only in production; the embedded default runs on plain
# HTTP on the loopback address, so it cannot require TLS.
_HTTPS = not (DEBUG or EMBEDDED)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", _HTTPS)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", _HTTPS)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000 if _HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS
SECURE_HSTS_PRELOAD = _HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Celery. With CELERY_BROKER_URL unset, tasks run eagerly in the calling
# process: the README's first command needs no broker. A deployment that sets
# the URL gets real workers and, if the broker is down, loud failures instead
# of work done inline.
CELERY_TASK_ALWAYS_EAGER = not env_str("CELERY_BROKER_URL")
# In eager mode nothing is sent; the in-memory transport keeps kombu from
# guessing a broker on localhost.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 1, minimum=1)
# Redis redelivers an unacknowledged task after this many seconds; it must
# exceed the longest task's hard time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Redis for cross-worker coordination (per-endpoint concurrency caps, rate
# limits). Defaults to the broker when that is Redis.
REDIS_URL = env_str("REDIS_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("redis") else None
)

# Model serving defaults; each endpoint may override them.
MODEL_REQUEST_TIMEOUT_S = env_float("MEDEXAM_MODEL_REQUEST_TIMEOUT_S", 120.0)
MODEL_MAX_ATTEMPTS = env_int("MEDEXAM_MODEL_MAX_ATTEMPTS", 5, minimum=1)

# Import: two stems are near-duplicates when the Jaccard similarity of their
# character bigram sets reaches this value (0 to 1).
NEAR_DUPLICATE_THRESHOLD = env_float("MEDEXAM_NEAR_DUPLICATE_THRESHOLD", 0.7)
if not 0.0 < NEAR_DUPLICATE_THRESHOLD <= 1.0:
    raise ImproperlyConfigured(
        f"MEDEXAM_NEAR_DUPLICATE_THRESHOLD={NEAR_DUPLICATE_THRESHOLD} must be above 0 "
        "and at most 1."
    )

# Review: how many physicians judge each response.
REVIEWS_PER_RESPONSE = env_int("MEDEXAM_REVIEWS_PER_RESPONSE", 3, minimum=1)
REVIEW_LEASE_MINUTES = env_int("MEDEXAM_REVIEW_LEASE_MINUTES", 30, minimum=1)
# Physicians review blind to the model; results by model (leaderboard) stay
# hidden from reviewer and adjudicator accounts unless this is set.
RESULTS_FOR_REVIEWERS = env_bool("MEDEXAM_RESULTS_FOR_REVIEWERS", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "medexam.api.pagination.PageSizePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("MEDEXAM_API_ANON_RATE", "30/minute"),
        "user": env_str("MEDEXAM_API_USER_RATE", "1200/minute"),
        # POST /api/auth/token/ checks a password: as strict as the log-in form.
        "token": env_str("MEDEXAM_API_TOKEN_RATE", "10/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "medexam API",
    "DESCRIPTION": "Questions, model responses, physician reviews, agreement and datasets.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from this server's static files (drf-spectacular-sidecar), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"VerdictEnum": "review.models.Review.Verdict"},
}

# Cache: Redis when REDIS_URL is set, so log-in and API throttles count across
# web processes; otherwise one process's memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "medexam",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# With Redis, sessions are read from the cache and written through to the
# database: every page needs the session, and a Redis GET is cheaper than a
# query. Without Redis each process has its own cache, so sessions stay in
# the database.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)
LOGIN_MAX_FAILURES = env_int("MEDEXAM_LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_FAILURE_WINDOW_S = env_int("MEDEXAM_LOGIN_FAILURE_WINDOW_S", 15 * 60, minimum=1)

LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"permission_denied": {"()": "medexam.log_filters.PermissionDeniedFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Django's default gives "django" a console handler of its own when DEBUG
        # is on, so every record was printed twice. It now goes to the root handler.
        "django": {"level": "INFO"},
        "django.request": {"filters": ["permission_denied"]},
        "medexam": {"level": LOG_LEVEL},
        "review": {"level": LOG_LEVEL},
        "workers": {"level": LOG_LEVEL},
        # The openai client logs request headers at DEBUG, API keys included.
        "openai": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}

# Generation: retry back-off (exponential with jitter), responses per batch
# task, and how long a response may stay in progress before the sweeper
# assumes its worker died and hands it out again.
MODEL_RETRY_BASE_S = env_float("MEDEXAM_MODEL_RETRY_BASE_S", 1.0)
MODEL_RETRY_CAP_S = env_float("MEDEXAM_MODEL_RETRY_CAP_S", 60.0)
MODEL_BATCH_SIZE = env_int("MEDEXAM_MODEL_BATCH_SIZE", 128, minimum=1)
MODEL_STALE_AFTER_S = env_int("MEDEXAM_MODEL_STALE_AFTER_S", 2000, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-responses": {
        "task": "workers.tasks.sweep_stale_responses",
        "schedule": env_float("MEDEXAM_SWEEP_INTERVAL_S", 60.0),
    },
}
