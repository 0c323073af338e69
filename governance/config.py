"""Settings from the environment, with safe defaults. The only place that reads os.environ."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    """Where the development database, Huey file and generated secret key live."""
    return Path(os.environ.get("STEWARD_INSTANCE_DIR", PROJECT_ROOT / "instance"))


class ConfigError(RuntimeError):
    """Raised at start-up when the environment cannot give a safe configuration."""


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _day_list(name: str, default: str) -> tuple[int, ...]:
    """A comma-separated list of whole days ("7,14"), sorted, each once."""
    raw = os.environ.get(name, default)
    try:
        days = sorted({int(part) for part in raw.split(",") if part.strip()})
    except ValueError:
        raise ConfigError(f"{name} must be whole days separated by commas, e.g. 7,14") from None
    if any(day < 1 for day in days):
        raise ConfigError(f"{name} must list days of at least 1, e.g. 7,14")
    return tuple(days)


def _int_at_least(name: str, default: int, lowest: int, why: str) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, e.g. {default}") from None
    if value < lowest:
        raise ConfigError(f"{name} must be at least {lowest}: {why}")
    return value


def is_production() -> bool:
    return os.environ.get("STEWARD_ENV", "development").strip().lower() == "production"


def _secret_key() -> str:
    """SECRET_KEY from the environment; in development a random key kept under instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if is_production():
        raise ConfigError(
            "SECRET_KEY is not set. In production (STEWARD_ENV=production) Steward refuses "
            "to start without it: set SECRET_KEY to a long random string, for example the "
            'output of: python -c "import secrets; print(secrets.token_hex(32))"'
        )
    key_file = instance_dir() / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created with 0600 so other local users cannot read it.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _audit_checkpoint_key() -> str:
    """AUDIT_CHECKPOINT_KEY, required in production; elsewhere empty means "derive it from
    SECRET_KEY" (governance.audit.signing)."""
    key = os.environ.get("AUDIT_CHECKPOINT_KEY", "")
    if not key and is_production():
        raise ConfigError(
            "AUDIT_CHECKPOINT_KEY is not set. In production (STEWARD_ENV=production) Steward "
            "refuses to start without it: set it to a long random string kept outside the "
            'database, for example the output of: python -c "import secrets; '
            'print(secrets.token_hex(32))"'
        )
    return key


def audit_checkpoint_minutes() -> float:
    """How often the audit chain is signed. Read at import too: the consumer's schedule."""
    raw = os.environ.get("AUDIT_CHECKPOINT_MINUTES", "60")
    try:
        minutes = float(raw)
    except ValueError:
        minutes = 0
    if not 0 < minutes <= 525_600:  # also refuses nan and inf
        raise ConfigError(
            "AUDIT_CHECKPOINT_MINUTES must be a number of minutes above 0 and at most a year, "
            "e.g. 60"
        )
    return minutes


def base_url() -> str:
    """Where people reach Steward (scheme, host, optional path), without a trailing slash.

    Links that leave the app (emails, webhook payloads) are built from it, never from a
    request's Host header: a consumer has no request, and a forged Host must not steer links.
    """
    url = os.environ.get("STEWARD_BASE_URL", "").strip().rstrip("/")
    if not url:
        if is_production():
            raise ConfigError(
                "STEWARD_BASE_URL is not set. In production (STEWARD_ENV=production) Steward "
                "refuses to start without it: set it to the address people open Steward at, "
                "for example https://steward.example.org"
            )
        # What `make run` prints: the Procfile's web line listens there.
        return f"http://127.0.0.1:{os.environ.get('PORT') or 5000}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"STEWARD_BASE_URL must be an http or https address such as "
            f"https://steward.example.org, not {url!r}"
        )
    return url


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the old driver; Steward ships psycopg 3.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    instance_dir().mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance_dir() / 'steward.db'}"


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def huey_settings() -> dict:
    """How the Huey transport is built: Redis when REDIS_URL is set, a SQLite file otherwise."""
    url = redis_url()
    if url:
        return {"kind": "redis", "url": url, "name": os.environ.get("HUEY_NAME", "steward")}
    path = os.environ.get("HUEY_SQLITE_PATH", str(instance_dir() / "huey.db"))
    return {"kind": "sqlite", "path": path, "name": os.environ.get("HUEY_NAME", "steward")}


class Config:
    """Read once per create_app() call, so tests can change the environment first."""

    def __init__(self) -> None:
        production = is_production()
        self.STEWARD_ENV = "production" if production else "development"
        self.SECRET_KEY = _secret_key()
        self.STEWARD_BASE_URL = base_url()
        self.SQLALCHEMY_DATABASE_URI = database_url()
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        # The role the application connects as: migrations leave it only SELECT and INSERT on
        # the audit tables. Unset: migrations revoke from PUBLIC only (see README, Security).
        self.STEWARD_DB_APP_ROLE = os.environ.get("STEWARD_DB_APP_ROLE", "")
        # Signs the audit chain's checkpoints; kept outside the database, like SECRET_KEY.
        self.AUDIT_CHECKPOINT_KEY = _audit_checkpoint_key()
        self.AUDIT_CHECKPOINT_MINUTES = audit_checkpoint_minutes()
        self.REDIS_URL = redis_url()
        # Login throttle counts live in Redis when there is one, else in the database
        # (login_failures): either way every web process shares them.
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.LOGIN_THROTTLE_STORE = "redis" if self.REDIS_URL else "database"
        self.LOGIN_FAILURE_LIMIT = os.environ.get("LOGIN_FAILURE_LIMIT", "5 per minute")
        # Requests per personal API token, shared by every process through Redis when set.
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", production)
        self.SESSION_COOKIE_NAME = "steward_session"
        # Enforced on the server for every request (user_sessions), whatever the cookie says:
        # a session ends after this long without a request, and this long after its login.
        self.SESSION_IDLE_MINUTES = _int_at_least(
            "SESSION_IDLE_MINUTES", 30, 5, "a session's last request is recorded once a minute"
        )
        self.SESSION_MAX_HOURS = _int_at_least(
            "SESSION_MAX_HOURS", 12, 1, "a session lasts at least an hour after its login"
        )
        self.PERMANENT_SESSION_LIFETIME = self.SESSION_MAX_HOURS * 3600
        # SP 800-63B-4 asks 15 for a password that is the only factor; the shipped breached
        # password list starts at 10 characters, so no lower setting is accepted.
        self.PASSWORD_MIN_LENGTH = _int_at_least(
            "PASSWORD_MIN_LENGTH", 15, 10, "the breached-password list covers 10 characters up"
        )
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
        self.WTF_CSRF_SSL_STRICT = True

        # Number of reverse proxies in front of the app whose X-Forwarded-* headers to trust.
        self.TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", 0))

        self.MAX_CONTENT_LENGTH = 2 * 1024 * 1024
        self.POLICY_BODY_MAX_CHARS = int(os.environ.get("POLICY_BODY_MAX_CHARS", 200_000))
        self.POLICIES_PER_PAGE = 25
        # The policies list counts at most this many search matches: each candidate's title and
        # text are checked, so counting to the usual 10,000 took 60 ms for a common word at 100k.
        self.POLICY_SEARCH_COUNT_CAP = int(os.environ.get("POLICY_SEARCH_COUNT_CAP", 1_000))
        # Adds a Server-Timing header (server time, SQL statements) to every response: bench/.
        self.STEWARD_SERVER_TIMING = _bool("STEWARD_SERVER_TIMING")
        # Policy exceptions: the furthest ahead an exception's expiry date may be set.
        self.EXCEPTION_MAX_DAYS = int(os.environ.get("EXCEPTION_MAX_DAYS", 365))

        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
        self.MAIL_USE_TLS = _bool("MAIL_USE_TLS")
        self.MAIL_FROM = os.environ.get("MAIL_FROM", "steward@localhost")

        self.HUEY = huey_settings()

        # Workflow engine: how long an automated step may run (its lease), retry ceiling,
        # when a queued step counts as lost, and how often the reconciler looks.
        self.STEP_TIMEOUT_SECONDS = float(os.environ.get("STEP_TIMEOUT_SECONDS", 300))
        self.STEP_RETRY_CAP_SECONDS = float(os.environ.get("STEP_RETRY_CAP_SECONDS", 3600))
        self.STALE_QUEUED_SECONDS = float(os.environ.get("STALE_QUEUED_SECONDS", 30))
        # "inline": when the queue is unreachable, run steps in the web process instead of
        # leaving them for the reconciler. Off by default.
        self.QUEUE_FALLBACK = os.environ.get("QUEUE_FALLBACK", "")
        self.RECONCILE_INTERVAL_SECONDS = float(os.environ.get("RECONCILE_INTERVAL_SECONDS", 3))
        # After a rotation, the previous outbound signing secret signs too for this long (the
        # default the Rotate button and the API offer).
        self.WEBHOOK_SECRET_GRACE_HOURS = int(os.environ.get("WEBHOOK_SECRET_GRACE_HOURS", 24))
        self.WEBHOOK_ALLOWLIST = [
            item.strip()
            for item in os.environ.get("WEBHOOK_ALLOWLIST", "").split(",")
            if item.strip()
        ]

        # Queue health: heartbeats (stale after two missed), how long a silent consumer stays
        # listed, retention of job records, counters and sent email, and the alert thresholds.
        self.HEARTBEAT_SECONDS = float(os.environ.get("HEARTBEAT_SECONDS", 5))
        self.CONSUMER_FORGET_SECONDS = float(os.environ.get("CONSUMER_FORGET_SECONDS", 600))
        self.JOB_RETENTION_DAYS = float(os.environ.get("JOB_RETENTION_DAYS", 7))
        self.COUNTER_RETENTION_DAYS = float(os.environ.get("COUNTER_RETENTION_DAYS", 30))
        self.EMAIL_RETENTION_DAYS = float(os.environ.get("EMAIL_RETENTION_DAYS", 30))
        # /health/queues answers 503 when the oldest waiting job has waited longer than this.
        self.QUEUE_LAG_LIMIT_SECONDS = float(os.environ.get("QUEUE_LAG_LIMIT_SECONDS", 300))
        # Admins are alerted when more jobs than this failed in the last five minutes.
        self.ALERT_FAILURES_5MIN = int(os.environ.get("ALERT_FAILURES_5MIN", 10))
        # A firing alert is notified once per window, however long it lasts.
        self.ALERT_WINDOW_SECONDS = float(os.environ.get("ALERT_WINDOW_SECONDS", 3600))
        # The web app evaluates the alerts this often too (0: only consumers do).
        self.WEB_ALERT_CHECK_SECONDS = float(os.environ.get("WEB_ALERT_CHECK_SECONDS", 30))

        # Acknowledgements: a campaign is due this many days after it opens, and those who
        # have not acknowledged are reminded once after each of these many days.
        self.ACK_DUE_DAYS = int(os.environ.get("ACK_DUE_DAYS", 14))
        self.ACK_REMINDER_DAYS = _day_list("ACK_REMINDER_DAYS", "7,14")
