"""One `Settings` object, read from the environment (and a `.env` file when present)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from limits import parse as parse_rate_limit
from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/newsdigest.db"
# Values people paste from examples; refused outside development.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "admin", "dev", "test"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    # Any form Supabase's dashboard gives (direct, session or transaction pooler) works as
    # pasted: shared/database/url.py translates it for the driver (docs/supabase.md).
    database_url: str = DEFAULT_DATABASE_URL
    # A pooler between the gateway and PostgreSQL: `auto` reads it from DATABASE_URL (port
    # 6543 or 6432: transaction pooling; *.pooler.supabase.com:5432: session pooling).
    db_pooler: Literal["auto", "transaction", "session", "none"] = "auto"
    db_pool_size: int = 10
    # How long a query waits for a pooled connection before the request answers 503.
    db_pool_timeout_seconds: float = 5.0
    # Adds this delay to every query without blocking the loop (benchmarks only).
    db_simulated_latency_ms: int = 0
    demo_data: bool | None = None  # None: on for SQLite, off for PostgreSQL
    migration_manifest: str = "migration_status.yaml"

    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    ai_timeout_seconds: float = 30.0

    admin_token: str | None = None
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"

    # Brute force: failed admin-token and initData checks per client address (see
    # shared/rate_limit.py), counted in Redis so all workers of a host share one count;
    # `memory://` counts per process (also the fallback while Redis does not answer).
    auth_failure_limit: str = "20/minute"
    rate_limit_storage_url: str = "redis://127.0.0.1:6379/0"
    rate_limit_key_prefix: str = "newsdigest"

    # How long a legacy (sync) view waits for the shared loop before answering 503.
    bridge_timeout_seconds: float = 30.0
    # Threads a2wsgi gives the Flask half: each blocked view holds one.
    legacy_threads: int = 32
    max_body_bytes: int = 1024 * 1024

    # Feed ingest: one slow, broken or huge feed must never hold up or fail the rest.
    feed_timeout_seconds: float = 10.0
    feed_max_bytes: int = 5 * 1024 * 1024
    ingest_concurrency: int = 8
    # Scheduled ingest (a periodic job, one run at a time across all workers): every this
    # many seconds; 0 is off. It must divide a minute, an hour or a day evenly (a cron).
    ingest_interval_seconds: int = 0
    # `POST /admin/api/ingest` waits this long for its run; past it, 202 and the progress.
    ingest_wait_seconds: float = 120.0
    # Telegram Bot API calls (broadcast messages): one slower than this fails, and is retried.
    telegram_timeout_seconds: float = 10.0
    # Background jobs on procrastinate (shared/jobs): durable on PostgreSQL, in-process and
    # in memory on SQLite. The gateway runs a worker of its own unless this is off (then
    # run `python -m gateway worker`, on any number of machines); SQLite always runs one.
    jobs_embedded_worker: bool = True
    # Workers take jobs from this queue only: one name per deployment sharing a database.
    jobs_queue: str = "newsdigest"
    jobs_concurrency: int = 4  # jobs one worker runs at a time
    jobs_poll_seconds: float = 5.0  # on PostgreSQL, LISTEN/NOTIFY wakes workers sooner
    # A worker beats every jobs_heartbeat_seconds; one silent for jobs_stalled_seconds is
    # gone, and its running jobs are retried by the sweep every jobs_stalled_check_seconds
    # (1-59): a job of a killed worker runs again within stalled + check seconds.
    jobs_heartbeat_seconds: float = 5.0
    jobs_stalled_seconds: float = 30.0
    jobs_stalled_check_seconds: int = 10
    # Runs of a job in all (upstream 429/5xx/timeouts and stalls); backoff with full jitter.
    jobs_max_attempts: int = 5
    jobs_retry_base_seconds: float = 1.0
    jobs_retry_max_seconds: float = 60.0
    # SIGTERM: running jobs get this long to finish, then go back to the queue.
    jobs_shutdown_grace_seconds: float = 10.0
    # /api/events/stream: how often it looks for changed rows, when it sends a heartbeat,
    # and when it ends a stream (EventSource reconnects by itself).
    sse_poll_seconds: float = 2.0
    sse_heartbeat_seconds: float = 15.0
    sse_max_seconds: float = 300.0

    # The gateway: how often each worker looks at the manifest file and the shared
    # rollbacks (SIGHUP forces a look), and the cap on concurrent shadow calls.
    manifest_poll_seconds: float = 1.0
    shadow_max_concurrency: int = 8
    # A callback holding the event loop longer than this is logged with its route and
    # code location, counted on /metrics and shown on the dashboard.
    loop_block_threshold_ms: int = 100
    # SIGTERM: stop accepting, let in-flight requests finish for this long, then cancel
    # what remains (an orchestrator's kill grace period should be a few seconds longer).
    shutdown_grace_seconds: int = 10
    # HTTP keep-alive: how long an idle client connection stays open. Longer than the idle
    # timeout of any load balancer in front (deploy/haproxy.cfg: 60 s), so that the balancer
    # closes idle connections, never the gateway as a request arrives on one; and a busy
    # gateway that reads a waiting request late does not take the connection for idle.
    keep_alive_seconds: int = 75
    # Comma-separated field names whose values stored shadow records never keep, beside
    # the built-in secret-looking names (token, secret, init_data, password, …).
    redact_fields: str = ""

    @field_validator("database_url")
    @classmethod
    def _database_url_form(cls, value: str) -> str:
        # Imported here: shared.database imports these settings.
        from shared.database.url import resolve

        resolve(value)  # a URL no driver can use is refused at startup, with what to change
        return value

    @field_validator("ingest_interval_seconds")
    @classmethod
    def _ingest_interval_as_cron(cls, value: int) -> int:
        # Imported here: shared.jobs imports these settings.
        from shared.jobs.schedule import interval_cron

        if value:
            interval_cron(value)  # refused at startup with the intervals a cron can keep
        return value

    @field_validator("auth_failure_limit")
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        parse_rate_limit(value)  # "20/minute", "100 per hour": refused at startup if not
        return value

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if self.database_url == DEFAULT_DATABASE_URL:
            problems.append("DATABASE_URL must be set explicitly")
        if not self.admin_token or self.admin_token.lower() in PLACEHOLDER_SECRETS:
            problems.append("ADMIN_TOKEN must be set to a real secret")
        elif len(self.admin_token) < 16:
            problems.append("ADMIN_TOKEN must be at least 16 characters")
        if self.telegram_bot_token and not self.telegram_webhook_secret:
            problems.append("TELEGRAM_WEBHOOK_SECRET must be set when TELEGRAM_BOT_TOKEN is")
        if self.demo_data:
            problems.append("DEMO_DATA must be off")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def load_demo_data(self) -> bool:
        return self.is_sqlite if self.demo_data is None else self.demo_data


@lru_cache
def get_settings() -> Settings:
    return Settings()
