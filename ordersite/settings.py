"""Django settings, read from the environment (and an optional .env file) with django-environ.

Every variable is documented in .env.example and docs/configuration.md.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from ordersite.durations import parse_duration_seconds
from workflows.codec import KeyringError, parse_keyring

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "axes",
    "corsheaders",
    "orders",
]

MIDDLEWARE = [
    # Outermost, so that in a database outage a request is answered before it waits for a thread (ordersite/web_threads.py).
    "orders.unavailable.DatabaseUnavailableMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ordersite.static_files.StaticFilesMiddleware",  # WhiteNoise, async-capable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "ordersite.urls"
WSGI_APPLICATION = "ordersite.wsgi.application"
ASGI_APPLICATION = "ordersite.asgi.application"

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
            ],
        },
    },
]

# SQLite is the zero-setup default; PostgreSQL (CI, production) uses Django's native psycopg pool.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        # How long a request waits for a connection: with the database down, the answer is a 503 this soon.
        "timeout": env.float("DB_POOL_TIMEOUT", default=1.5),
    }
    # With the pool, each connection is checked as it leaves the pool: after a database restart the broken ones are
    # replaced instead of failing one request each.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=2))
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool owns connection reuse
else:
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
    # Concurrent writers (web threads, worker activities) queue for the write lock instead of failing with
    # "database is locked" when a read turns into a write; WAL lets reads go on meanwhile, and synchronous=FULL
    # still syncs every commit to disk.
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
    # A file, not memory, so that worker processes started by end-to-end tests share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}

# The throttle counts requests in this cache: the default is per process; a shared one (e.g.
# dbcache://api_cache after `manage.py createcachetable`) makes API_THROTTLE_RATE one limit across web workers.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Admin sign-in is guarded against guessing by django-axes: AXES_FAILURE_LIMIT failures for one username from
# one address lock that pair out for AXES_COOLOFF_TIME; every attempt is kept in the database (admin: Axes).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=parse_duration_seconds(env.str("AXES_COOLOFF_TIME", default="15m")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Behind a proxy, the client's address is in X-Forwarded-For; set AXES_IPWARE_PROXY_COUNT to the proxies in front.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0)
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]

# --- HTTPS and security headers -------------------------------------------------------------
# On by default with DEBUG off (`check --deploy` is clean): HSTS, the redirect to HTTPS, cookies sent over HTTPS
# only. HTTPS_ONLY=0 turns them off for a plain-HTTP run behind nothing (a trial, the benchmark, the chaos suite).
HTTPS_ONLY = env.bool("HTTPS_ONLY", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes from inside the network
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000) if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS_ONLY
# Behind a TLS-terminating proxy: TRUST_X_FORWARDED_PROTO=1 takes its X-Forwarded-Proto: https as a secure
# request. Only behind a proxy that sets that header itself (clients must not be able to).
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# API request bodies are small; a larger one is refused (413), never parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", default=64 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that an anonymous request gets 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["orders.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_THROTTLE_RATE", default="600/minute")},
    "EXCEPTION_HANDLER": "orders.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Orders API",
    "DESCRIPTION": "Order processing on Django and Temporal: start orders, review them, follow them to the end.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "orders.api.schema_links.add_links"],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "PaymentStatusEnum": "orders.models.Payment.Status",
        "EventTypeEnum": "orders.models.OrderEvent.Type",
    },
}

# How long clients are told to wait (Retry-After) when Temporal or the database is unreachable.
API_RETRY_AFTER_SECONDS = env.int("API_RETRY_AFTER_SECONDS", default=5)
# Threads per web process for synchronous views; waits hold none (ordersite/web_threads.py).
WEB_THREADS = env.int("WEB_THREADS", default=8)
# GET /orders/{id}/status?wait=N: at most this many waits open at once per client, past it 429 with Retry-After.
# Counted in the cache (CACHE_URL): one count across web processes with a shared cache, per process with the default.
ORDER_WAITS_PER_CLIENT = env.int("ORDER_WAITS_PER_CLIENT", default=64)

# --- Temporal -------------------------------------------------------------------------------
TEMPORAL_ADDRESS = env.str("TEMPORAL_ADDRESS", default="localhost:7233")
TEMPORAL_NAMESPACE = env.str("TEMPORAL_NAMESPACE", default="default")
TEMPORAL_MAIN_TASK_QUEUE = env.str("TEMPORAL_MAIN_TASK_QUEUE", default="main-tq")
TEMPORAL_SHIPPING_TASK_QUEUE = env.str("TEMPORAL_SHIPPING_TASK_QUEUE", default="shipping-tq")
TEMPORAL_TLS = env.bool("TEMPORAL_TLS", default=False)
TEMPORAL_TLS_CA = env.str("TEMPORAL_TLS_CA", default="")
TEMPORAL_TLS_CERT = env.str("TEMPORAL_TLS_CERT", default="")
TEMPORAL_TLS_KEY = env.str("TEMPORAL_TLS_KEY", default="")
TEMPORAL_API_KEY = env.str("TEMPORAL_API_KEY", default="")
TEMPORAL_UI_URL = env.str("TEMPORAL_UI_URL", default="http://localhost:8233")
# Payload encryption (workflows/codec.py): `id:base64-key,...` (32-byte keys) and the id that encrypts; every
# listed key decrypts, so a key is rotated by adding the new one, making it active, and dropping the old one only
# once no open workflow (or history you still read) uses it. Empty: payloads are not encrypted.
TEMPORAL_PAYLOAD_KEYS = env.str("TEMPORAL_PAYLOAD_KEYS", default="")
TEMPORAL_PAYLOAD_KEY_ID = env.str("TEMPORAL_PAYLOAD_KEY_ID", default="")
try:
    parse_keyring(TEMPORAL_PAYLOAD_KEYS, TEMPORAL_PAYLOAD_KEY_ID)
except KeyringError as _exc:
    raise ImproperlyConfigured(str(_exc)) from None
# The Temporal Web UI may read the codec endpoint (/temporal-codec/decode), with credentials; nobody else may.
CORS_URLS_REGEX = r"^/temporal-codec/.*$"
CORS_ALLOWED_ORIGINS = [TEMPORAL_UI_URL.rstrip("/")]
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = ["authorization", "content-type", "x-namespace"]
# How long a web request waits for Temporal, and for an update's outcome before answering "still processing".
TEMPORAL_CLIENT_TIMEOUT = parse_duration_seconds(env.str("TEMPORAL_CLIENT_TIMEOUT", default="15s"))
TEMPORAL_UPDATE_WAIT = parse_duration_seconds(env.str("TEMPORAL_UPDATE_WAIT", default="10s"))
if TEMPORAL_UPDATE_WAIT >= TEMPORAL_CLIENT_TIMEOUT:
    raise ImproperlyConfigured("TEMPORAL_UPDATE_WAIT must be shorter than TEMPORAL_CLIENT_TIMEOUT.")

# --- The order process ----------------------------------------------------------------------
REVIEW_ESCALATE_AFTER = parse_duration_seconds(env.str("REVIEW_ESCALATE_AFTER", default="1h"))
REVIEW_TIMEOUT = parse_duration_seconds(env.str("REVIEW_TIMEOUT", default="24h"))
if REVIEW_ESCALATE_AFTER >= REVIEW_TIMEOUT:
    raise ImproperlyConfigured("REVIEW_ESCALATE_AFTER must be shorter than REVIEW_TIMEOUT.")
ORDER_AMOUNT_LIMIT = env.str("ORDER_AMOUNT_LIMIT", default="10000.00")
# The review desk: how long a claim lasts; orders of at least this amount need two reviewers ("" turns it off);
# decisions on many orders at once (admin, API, CLI): at most so many orders, sent so many at a time, answered
# within so many seconds.
REVIEW_CLAIM_TTL = parse_duration_seconds(env.str("REVIEW_CLAIM_TTL", default="10m"))
FOUR_EYES_AMOUNT = env.str("FOUR_EYES_AMOUNT", default="1000.00")
BULK_REVIEW_CAP = env.int("BULK_REVIEW_CAP", default=1000)
BULK_REVIEW_CONCURRENCY = env.int("BULK_REVIEW_CONCURRENCY", default=100)
BULK_REVIEW_BUDGET = parse_duration_seconds(env.str("BULK_REVIEW_BUDGET", default="8s"))
SHIPPING_MAX_ATTEMPTS = env.int("SHIPPING_MAX_ATTEMPTS", default=3)
SHIPPING_RETRY_BACKOFF = parse_duration_seconds(env.str("SHIPPING_RETRY_BACKOFF", default="5s"))
# A running order that has not moved on for this long, outside an expected wait (review, shipping backoff, a bulk
# hold), is stuck: `manage.py reconcile`, /metrics, the review dashboard and the logs name it.
ORDER_STUCK_AFTER = parse_duration_seconds(env.str("ORDER_STUCK_AFTER", default="900"))

# Risk (orders/risk/, docs/review-desk.md): every order is scored at validation by these rules, each a dotted path
# with options (as AUTH_PASSWORD_VALIDATORS); RISK_RULES_OFF turns rules off by name ("all": every one).
# Routing: an order scoring below RISK_AUTO_APPROVE_BELOW is approved by the policy, one scoring at least
# RISK_AUTO_CANCEL_FROM is cancelled as suspected fraud; empty turns a threshold off (every order is reviewed).
# `manage.py check` refuses a policy it cannot use.
def _optional_score(name: str):
    raw = env.str(name, default="").strip()
    return None if not raw else int(raw) if raw.lstrip("-").isdigit() else raw


RISK_AUTO_APPROVE_BELOW = _optional_score("RISK_AUTO_APPROVE_BELOW")
RISK_AUTO_CANCEL_FROM = _optional_score("RISK_AUTO_CANCEL_FROM")
RISK_MEDIUM_FROM = env.int("RISK_MEDIUM_FROM", default=30)
RISK_HIGH_FROM = env.int("RISK_HIGH_FROM", default=70)
RISK_RULES_OFF = env.list("RISK_RULES_OFF", default=[])
RISK_RULES = [
    {"NAME": "orders.risk.rules.Velocity", "OPTIONS": {"window": "10m", "allowed": 1}},
    {"NAME": "orders.risk.rules.Velocity", "OPTIONS": {"window": "24h", "allowed": 4, "points": 10, "max_points": 20}},
    {"NAME": "orders.risk.rules.NewCustomer"},
    {"NAME": "orders.risk.rules.Amount"},
    {
        "NAME": "orders.risk.rules.Destination",
        "OPTIONS": {
            "allowed": env.list("RISK_ALLOWED_COUNTRIES", default=[]),
            "watch": env.list("RISK_WATCH_COUNTRIES", default=[]),
        },
    },
    {"NAME": "orders.risk.rules.DisposableEmail"},
    {"NAME": "orders.risk.rules.Quantity", "OPTIONS": {"max_per_sku": env.int("RISK_MAX_QUANTITY_PER_SKU", default=10)}},
    {"NAME": "orders.risk.rules.FraudHistory"},
]

# Retry policy of the business calls (payment gateway, warehouse, carrier).
BUSINESS_RETRY_INITIAL_INTERVAL = parse_duration_seconds(env.str("BUSINESS_RETRY_INITIAL_INTERVAL", default="1s"))
BUSINESS_RETRY_BACKOFF = env.float("BUSINESS_RETRY_BACKOFF", default=2.0)
BUSINESS_RETRY_MAX_INTERVAL = parse_duration_seconds(env.str("BUSINESS_RETRY_MAX_INTERVAL", default="30s"))
BUSINESS_RETRY_MAX_ATTEMPTS = env.int("BUSINESS_RETRY_MAX_ATTEMPTS", default=3)

# The payment gateway and the carrier (orders/providers): a dotted path to the backend's class, and the keyword
# arguments it is built with (JSON in the environment).
PAYMENT_GATEWAY_BACKEND = env.str("PAYMENT_GATEWAY_BACKEND", default="orders.providers.simulated.SimulatedGateway")
PAYMENT_GATEWAY_OPTIONS = env.json("PAYMENT_GATEWAY_OPTIONS", default={})
CARRIER_BACKEND = env.str("CARRIER_BACKEND", default="orders.providers.simulated.SimulatedCarrier")
CARRIER_OPTIONS = env.json("CARRIER_OPTIONS", default={})
# How long an authorization holds the money: a review that outlasts it re-authorizes before capture.
PAYMENT_AUTHORIZATION_VALID_FOR = parse_duration_seconds(env.str("PAYMENT_AUTHORIZATION_VALID_FOR", default="7d"))
# Re-authorizations an order may make before it ends payment_failed.
PAYMENT_MAX_REAUTHORIZATIONS = env.int("PAYMENT_MAX_REAUTHORIZATIONS", default=3)

# Fault simulation inside the gateway, warehouse and carrier simulations.
FLAKY_FAILURE_RATE = env.float("FLAKY_FAILURE_RATE", default=0.0)
FLAKY_MAX_DELAY = env.float("FLAKY_MAX_DELAY", default=0.0)
FLAKY_SEED = env.str("FLAKY_SEED", default="")
# The charge, dispatch or refund is done in the provider's books, then its reply is lost.
FLAKY_LOST_REPLY_RATE = env.float("FLAKY_LOST_REPLY_RATE", default=0.0)
for _name, _rate in (("FLAKY_FAILURE_RATE", FLAKY_FAILURE_RATE), ("FLAKY_LOST_REPLY_RATE", FLAKY_LOST_REPLY_RATE)):
    if not 0.0 <= _rate <= 1.0:
        raise ImproperlyConfigured(f"{_name} must be between 0 and 1.")

# Run workflows inside the SDK sandbox in production too (the test suite always does; see orders/temporal/worker.py).
WORKFLOW_SANDBOX = env.bool("WORKFLOW_SANDBOX", default=False)

# Workers serve Temporal SDK metrics in Prometheus format on this port (0 turns them off).
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=9464)
WORKER_METRICS_HOST = env.str("WORKER_METRICS_HOST", default="127.0.0.1")

# LOG_FORMAT=json: one JSON object per line, with order_id and workflow_id where a line concerns an order.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
