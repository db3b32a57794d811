"""One `Settings` object, read from the environment (and a `.env` file when present)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/newsdigest.db"
# Values people paste from examples; refused outside development.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "admin", "dev", "test"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = 10
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

    # How long a legacy (sync) view waits for the shared loop before answering 503.
    bridge_timeout_seconds: float = 30.0
    # Threads a2wsgi gives the Flask half: each blocked view holds one.
    legacy_threads: int = 32
    max_body_bytes: int = 1024 * 1024

    # Feed ingest: one slow, broken or huge feed must never hold up or fail the rest.
    feed_timeout_seconds: float = 10.0
    feed_max_bytes: int = 5 * 1024 * 1024
    ingest_concurrency: int = 8
    # Digest broadcast through the Telegram Bot API.
    broadcast_concurrency: int = 10
    # /api/events/stream: how often it looks for changed rows, when it sends a heartbeat,
    # and when it ends a stream (EventSource reconnects by itself).
    sse_poll_seconds: float = 2.0
    sse_heartbeat_seconds: float = 15.0
    sse_max_seconds: float = 300.0

    # The gateway: how often each worker looks at the manifest file and the shared
    # rollbacks (SIGHUP forces a look), and the cap on concurrent shadow calls.
    manifest_poll_seconds: float = 1.0
    shadow_max_concurrency: int = 8

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
