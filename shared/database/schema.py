"""The one schema, for SQLite and PostgreSQL alike.

Timestamps are naive UTC `DateTime` columns written by the application (never by a
server default), so both backends store and return the same values.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Ids are PostgreSQL `integer`s: a larger number can name no row (and must not reach SQL).
MAX_ID = 2_147_483_647
# Digest ids are random (they must not tell how many digests exist), below 2**53 so that
# JavaScript reads them exactly: `bigint` on PostgreSQL (SQLite's INTEGER is 64-bit anyway).
MAX_DIGEST_ID = 2**53 - 1
_DigestId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# SQLite would reuse the highest id after a delete; AUTOINCREMENT makes it behave like
# a PostgreSQL sequence, so both backends hand out the same ids for the same writes.
_SQLITE: dict[str, Any] = {"sqlite_autoincrement": True}


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


sources = sa.Table(
    "sources",
    metadata,
    _id(),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("url", sa.String(500), nullable=False, unique=True),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("last_fetched_at", sa.DateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    **_SQLITE,
)

news = sa.Table(
    "news",
    metadata,
    _id(),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("link", sa.String(1000), nullable=False, unique=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id", ondelete="SET NULL")),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("subcategory", sa.String(40)),
    sa.Column("importance", sa.Float, nullable=False, default=0.5),
    sa.Column("published_at", sa.DateTime, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_news_published_at", "published_at"),
    sa.Index("ix_news_category_published_at", "category", "published_at"),
    sa.Index("ix_news_subcategory_published_at", "subcategory", "published_at"),
    **_SQLITE,
)

events = sa.Table(
    "events",
    metadata,
    _id(),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("location", sa.String(200)),
    sa.Column("starts_at", sa.DateTime, nullable=False),
    sa.Column("ends_at", sa.DateTime),
    sa.Column("importance", sa.Float, nullable=False, default=0.5),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_events_starts_at", "starts_at"),
    **_SQLITE,
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("telegram_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column("username", sa.String(100)),
    sa.Column("language", sa.String(10), nullable=False, default="en"),
    sa.Column("is_blocked", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime),
    **_SQLITE,
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    _id(),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("user_id", "category", name="uq_subscriptions_user_category"),
    **_SQLITE,
)

user_preferences = sa.Table(
    "user_preferences",
    metadata,
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("style", sa.String(20)),
    sa.Column("tone", sa.String(20)),
    sa.Column("length", sa.String(20)),
    sa.Column("audience", sa.String(20)),
    sa.Column("language", sa.String(10)),
    sa.Column("notify_time", sa.String(5)),
    sa.Column("timezone", sa.String(64)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

digests = sa.Table(
    "digests",
    metadata,
    # Written by `store_digest` (random); the sequence only numbers the demo data.
    sa.Column("id", _DigestId, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("news_ids", sa.JSON, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_digests_user_created", "user_id", "created_at"),
    info={"random_ids": True},  # in creation order, not id order, wherever rows are listed
    **_SQLITE,
)

digest_jobs = sa.Table(
    "digest_jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("digest_id", _DigestId, sa.ForeignKey("digests.id", ondelete="SET NULL")),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

bookmarks = sa.Table(
    "bookmarks",
    metadata,
    _id(),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("news_id", sa.Integer, sa.ForeignKey("news.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("user_id", "news_id", name="uq_bookmarks_user_news"),
    **_SQLITE,
)

news_feedback = sa.Table(
    "news_feedback",
    metadata,
    _id(),
    sa.Column("news_id", sa.Integer, sa.ForeignKey("news.id", ondelete="CASCADE"), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("value", sa.SmallInteger, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("news_id", "user_id", name="uq_news_feedback_news_user"),
    **_SQLITE,
)

notifications = sa.Table(
    "notifications",
    metadata,
    _id(),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False, default=""),
    sa.Column("is_read", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    **_SQLITE,
)

analytics_events = sa.Table(
    "analytics_events",
    metadata,
    _id(),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("props", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_analytics_events_name_created", "name", "created_at"),
    **_SQLITE,
)

app_config = sa.Table(
    "app_config",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.JSON),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    _id(),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target", sa.String(200)),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    **_SQLITE,
)

broadcasts = sa.Table(
    "broadcasts",
    metadata,
    _id(),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("category", sa.String(40)),
    sa.Column("digest_id", _DigestId, sa.ForeignKey("digests.id", ondelete="SET NULL")),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    **_SQLITE,
)

# A message each; `status` is pending, sent or failed (with `error`), set by its job.
broadcast_recipients = sa.Table(
    "broadcast_recipients",
    metadata,
    _id(),
    sa.Column(
        "broadcast_id",
        sa.Integer,
        sa.ForeignKey("broadcasts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("broadcast_id", "chat_id", name="uq_broadcast_recipients_broadcast_id"),
    **_SQLITE,
)

# Messages started in each Unix second, by every worker: Telegram's rate, kept together.
broadcast_send_slots = sa.Table(
    "broadcast_send_slots",
    metadata,
    sa.Column("second", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("used", sa.Integer, nullable=False),
)

# -- the gateway's own tables: shared by every worker, so one report covers them all ----

gateway_shadow_results = sa.Table(
    "gateway_shadow_results",
    metadata,
    _id(),
    sa.Column("route_id", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),  # mismatch | noise | error
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.String(1000), nullable=False),
    sa.Column("query", sa.String(2000), nullable=False, default=""),
    sa.Column("request_body", sa.Text),
    sa.Column("legacy_status", sa.Integer),
    sa.Column("async_status", sa.Integer),
    sa.Column("differences", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_gateway_shadow_results_route_created", "route_id", "created_at"),
    **_SQLITE,
)

gateway_counters = sa.Table(
    "gateway_counters",
    metadata,
    sa.Column("route_id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False, default=0),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

gateway_rollbacks = sa.Table(
    "gateway_rollbacks",
    metadata,
    _id(),
    sa.Column("route_id", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("entry_version", sa.String(40), nullable=False),  # the entry it overrode
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("cleared_at", sa.DateTime),
    sa.Index("ix_gateway_rollbacks_route", "route_id"),
    **_SQLITE,
)

# Operator decisions the file does not hold: a `flip` (also written to the deciding host's
# file) and an emergency `pin`; at most one of each per route, so a pin hides a flip until
# it is removed.
gateway_overrides = sa.Table(
    "gateway_overrides",
    metadata,
    sa.Column("route_id", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(10), primary_key=True),  # flip | pin
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("percent", sa.Integer),
    sa.Column("canary", sa.JSON),  # a progressive canary's rules, for a flip to one
    sa.Column("base_version", sa.String(40)),  # the file entry the flip was made over
    sa.Column("entry_version", sa.String(40)),  # the file entry the flip wrote
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

# One row per progressive canary run (a route's canary plan): its current step. Every
# decision is a conditional UPDATE on this row, so exactly one instance takes it.
gateway_canaries = sa.Table(
    "gateway_canaries",
    metadata,
    _id(),
    sa.Column("route_id", sa.String(100), nullable=False),
    sa.Column("plan", sa.String(64), nullable=False),  # which entry (or flip) started it
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("step_index", sa.Integer, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # running | promoted | rolled_back
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("step_started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.UniqueConstraint("route_id", "plan", name="uq_gateway_canaries_route_plan"),
    **_SQLITE,
)

# Each worker's figures for the step under way (absolute values, rewritten each tick), so
# the instance that decides judges the traffic of every instance.
gateway_canary_samples = sa.Table(
    "gateway_canary_samples",
    metadata,
    sa.Column("canary_id", sa.Integer, primary_key=True),
    sa.Column("step_index", sa.Integer, primary_key=True),
    sa.Column("worker", sa.String(80), primary_key=True),
    sa.Column("side", sa.String(10), primary_key=True),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("latency_buckets", sa.JSON, nullable=False),
    sa.Column("comparisons", sa.Integer, nullable=False),
    sa.Column("mismatches", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# The history: every flip, pin, unpin and canary decision, with who, why and the figures.
gateway_decisions = sa.Table(
    "gateway_decisions",
    metadata,
    _id(),
    sa.Column("route_id", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(10)),
    sa.Column("percent", sa.Integer),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("figures", sa.JSON),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_gateway_decisions_created", "created_at"),
    **_SQLITE,
)

# Tables in an order that respects foreign keys (parents first).
TABLES: tuple[sa.Table, ...] = (
    sources,
    news,
    events,
    users,
    subscriptions,
    user_preferences,
    digests,
    digest_jobs,
    bookmarks,
    news_feedback,
    notifications,
    analytics_events,
    app_config,
    audit_log,
    broadcasts,
    broadcast_recipients,
    broadcast_send_slots,
    gateway_shadow_results,
    gateway_counters,
    gateway_rollbacks,
    gateway_overrides,
    gateway_canaries,
    gateway_canary_samples,
    gateway_decisions,
)
