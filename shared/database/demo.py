"""A deterministic demo data set that exercises every endpoint of the news API.

Every timestamp is derived from one anchor, `now` (naive UTC), so the same anchor always
yields the same rows. Integer ids are explicit (1..N) in every table of `ID_TABLES`: on
PostgreSQL the caller must reset those tables' id sequences afterwards.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.categories import CATEGORY_TREE
from shared.database import schema

DEMO_ADMIN_ACTOR = "demo"
SEED = 20250118
Row = dict[str, Any]
ID_TABLES: tuple[str, ...] = tuple(
    t.name for t in schema.TABLES if "id" in t.c and isinstance(t.c.id.type, sa.Integer)
)

# fmt: off
SOURCES = (  # name, feed slug, category; ids follow this order, two per category
    ("CoinDesk Demo", "coindesk", "crypto"), ("The Block Demo", "the-block", "crypto"),
    ("ESPN Demo", "espn", "sports"), ("BBC Sport Demo", "bbc-sport", "sports"),
    ("Reuters Markets Demo", "reuters", "markets"), ("Bloomberg Demo", "bloomberg", "markets"),
    ("TechCrunch Demo", "techcrunch", "tech"), ("The Verge Demo", "the-verge", "tech"),
    ("AP World Demo", "ap-world", "world"), ("Al Jazeera Demo", "al-jazeera", "world"),
)
DISABLED_SOURCE, FAILING_SOURCE, NEWS_PER_SUBCATEGORY = 8, 10, 6

# Three subjects per subcategory (written as they read mid-sentence), two headlines each.
SUBJECTS: dict[str, tuple[str, str, str]] = {
    "bitcoin": ("Bitcoin", "Bitcoin miners", "spot Bitcoin ETFs"),
    "ethereum": ("Ethereum", "Ethereum staking", "Ethereum layer-2 networks"),
    "defi": ("DeFi lending protocols", "decentralized exchanges", "stablecoin yields"),
    "nft": ("NFT marketplaces", "blue-chip NFT collections", "NFT gaming"),
    "regulation": ("SEC crypto enforcement", "EU MiCA compliance", "stablecoin legislation"),
    "football": ("the Premier League title race", "the Champions League", "women's football"),
    "basketball": ("the NBA playoff race", "EuroLeague basketball", "college basketball"),
    "tennis": ("the Australian Open", "the ATP Finals", "the WTA clay swing"),
    "hockey": ("the NHL trade deadline", "the KHL playoffs", "world junior hockey"),
    "esports": ("League of Legends Worlds", "the Counter-Strike Major", "Dota 2 tournaments"),
    "stocks": ("the S&P 500", "big tech stocks", "European bank shares"),
    "forex": ("the dollar-yen pair", "the euro", "emerging-market currencies"),
    "commodities": ("oil prices", "gold", "copper futures"),
    "bonds": ("Treasury yields", "corporate bonds", "German Bunds"),
    "macro": ("the US inflation outlook", "global growth forecasts", "the Fed rate path"),
    "ai": ("open-source AI models", "AI chip supply", "generative AI assistants"),
    "startups": ("seed-stage startups", "climate-tech startups", "European fintech"),
    "gadgets": ("foldable smartphones", "smart glasses", "wearable health trackers"),
    "software": ("cloud developer tools", "Linux kernel development", "Python packaging"),
    "security": ("ransomware defense", "password managers", "zero-day exploit markets"),
    "politics": ("EU parliament elections", "US budget talks", "coalition talks in Berlin"),
    "economy": ("the global trade slowdown", "household inflation", "labour shortages"),
    "conflicts": ("ceasefire negotiations", "humanitarian corridors", "border tensions"),
    "climate": ("COP climate commitments", "record heatwaves", "renewable energy targets"),
    "society": ("housing affordability", "remote work", "aging populations"),
}
HEADLINES: dict[str, tuple[str, ...]] = {  # six per category, used once per subcategory
    "crypto": (
        "Cooling inflation data puts {s} in focus", "Weekend volatility puts {s} under scrutiny",
        "Analysts split on the outlook for {s}", "{s}: what traders are watching this week",
        "Institutions take a fresh look at {s}", "AI tools change how funds research {s}",
    ),
    "sports": (
        "{s}: late drama decides a thriller", "Injury news shakes up {s} ahead of the weekend",
        "Record crowds turn out for {s}", "Coaches weigh in on {s}",
        "AI-powered analytics change how teams approach {s}", "Broadcast deal puts {s} on air",
    ),
    "markets": (
        "Inflation surprise jolts {s}", "What the latest Fed minutes signal for {s}",
        "Hedge funds rotate positioning in {s}", "Volatility returns to {s} after a quiet week",
        "Strategists raise year-end targets for {s}", "AI-driven trading reshapes {s}",
    ),
    "tech": (
        "{s}: new AI features roll out to millions", "Regulators take a closer look at {s}",
        "Inside the race to dominate {s}", "Record investment flows into {s} this quarter",
        "Developers react to major changes in {s}", "Security researchers flag new risks in {s}",
    ),
    "world": (
        "{s}: leaders meet as inflation pressures mount", "New report sheds light on {s}",
        "Public debate over {s} intensifies", "UN officials issue warning on {s}",
        "What experts expect from {s} this year", "AI tools help journalists track {s}",
    ),
}
SUMMARIES: dict[str, tuple[str, str]] = {
    "crypto": (
        "{s} recorded {n}% more on-chain volume this week as stablecoin liquidity shifted.",
        "Desk analysts say moves in {s} now track inflation prints and ETF flows ({n}% beta).",
    ),
    "sports": (
        "{s} delivered another talking point: attendance rose {n}% and coaches praised the tempo.",
        "Pundits break down {s}, from line-ups to AI-assisted scouting; ratings are up {n}%.",
    ),
    "markets": (
        "{s} moved {n}% on the week as investors weighed inflation, earnings and rate guidance.",
        "Portfolio managers say {n}% of new flows touch {s} as rate-cut bets build.",
    ),
    "tech": (
        "New AI features arrive for {s}; early adopters report {n}% productivity gains.",
        "Analysts expect spending on {s} to grow {n}% next year despite security concerns.",
    ),
    "world": (
        "A new survey on {s} found {n}% of respondents expect change this year.",
        "Diplomats and economists debated {s} as inflation weighs on households ({n}% concern).",
    ),
}
EVENT_BLURBS = {
    "crypto": "Expect volatility in Bitcoin and Ethereum around the announcements.",
    "sports": "Live coverage, line-ups and post-match analysis.",
    "markets": "A key macro moment: inflation expectations and rate bets may shift.",
    "tech": "Announcements on AI, developer tools and product roadmaps.",
    "world": "Policy discussions with consequences for the economy and society.",
}
EVENTS = (  # category, title, location, day (from today's midnight), hour, hours long, importance
    ("crypto", "Bitcoin Core developer meetup", "Lisbon", -18, 16, 3, 0.42),
    ("markets", "US CPI inflation release", "Washington, DC", -15, 13.5, None, 0.91),
    ("sports", "Champions League round of 16, first leg", "Madrid", -12, 20, 2, 0.77),
    ("tech", "Open Source AI Summit", "Berlin", -10, 9, 8, 0.64),
    ("world", "G20 finance ministers meeting", "Rio de Janeiro", -8, 10, 6, 0.83),
    ("crypto", "Ethereum core developers call", "Online", -6, 14, 1.5, 0.55),
    ("markets", "ECB monetary policy decision", "Frankfurt", -4, 12.25, None, 0.88),
    ("sports", "NBA All-Star Game", "Indianapolis", -3, 1, 3, 0.61),
    ("tech", "Patch Tuesday security updates", "Online", -2, 17, None, 0.47),
    ("world", "UN climate adaptation forum", "Geneva", -1, 8, 9, 0.58),
    ("tech", "AI Developer Conference keynote", "San Francisco", 2, 17, 2, 0.86),
    ("sports", "Australian Open men's final", "Melbourne", 4, 8.5, 3.5, 0.74),
    ("crypto", "ETHDenver hackathon", "Denver", 6, 16, 72, 0.52),
    ("markets", "FOMC rate decision", "Washington, DC", 8, 19, None, 0.95),
    ("world", "World Economic Outlook briefing", "Washington, DC", 11, 14, 1, 0.66),
    ("sports", "Counter-Strike Major grand final", "Copenhagen", 13, 15, 5, 0.48),
    ("tech", "Smartphone launch event", "Cupertino", 16, 17, 1.5, 0.71),
    ("crypto", "SEC roundtable on crypto regulation", "Washington, DC", 19, 15, 4, 0.69),
    ("markets", "US jobs report", "Online", 22, 13.5, None, 0.87),
    ("world", "Parliamentary elections", "Lisbon", 25, 7, 13, 0.81),
    ("sports", "NHL trade deadline", "Online", 28, 20, None, 0.45),
    ("tech", "Startup pitch night", "London", 31, 18, 3, 0.33),
    ("crypto", "DeFi security workshop", "Singapore", 35, 9, 6, 0.40),
    ("markets", "Big tech quarterly earnings", "New York", 39, 21, None, 0.76),
    ("world", "Climate Week opening session", "New York", 44, 14, 2, 0.60),
    ("tech", "Cybersecurity conference", "Las Vegas", 50, 16, 48, 0.57),
    ("sports", "Clay-court tennis season opener", "Monte Carlo", 57, 10, 8, 0.39),
)
TODAY_EVENTS = (  # start/end as fractions of the day: -1 = midnight, 0 = now, 1 = next midnight
    ("markets", "Weekly oil inventories report", "Online", -0.75, -0.6, 0.44),
    ("world", "EU leaders summit, day one", "Brussels", -0.5, 0.75, 0.79),
    ("crypto", "Bitcoin ETF flows livestream", "Online", 0.5, None, 0.37),
)
USERS = (  # username, language, blocked, created days ago (None: earlier today), seen hours ago
    ("alice", "en", False, 28, 1 / 6),
    ("bob", "ru", False, 21, 2),
    ("carol", "en", False, 14, 1),
    ("dave", "de", False, 6, 9),
    ("erin", "es", True, None, None),  # blocked the day it signed up, never seen
)
SUBSCRIPTIONS = {1: ("crypto", "markets", "tech"), 2: ("crypto", "world"), 3: ("sports",),
                 4: ("tech", "markets")}
PREFERENCES = (  # user, style, tone, length, audience, language, notify, timezone, days ago
    (1, "analytical", "neutral", "medium", "investors", "en", "08:00", "UTC", 3),
    (2, "casual", "critical", "long", "general", "ru", "08:00", "Europe/Moscow", 1),
)
DIGESTS = (  # user, hours ago (None: today), categories, style, tone, length, audience, limit, ms
    (1, 74, ("crypto", "markets"), "analytical", "neutral", "medium", "investors", 5, 1840),
    (1, 26, ("tech",), "brief", "optimistic", "short", "tech", 3, 960),
    (2, 49, ("crypto", "world"), "casual", "critical", "long", "general", 6, 2310),
    (None, None, ("world", "sports"), "newsletter", "neutral", "medium", "general", 4, 1275),
)
JOB_IDS = ("00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002")
BOOKMARKS = ((1, 150), (1, 142), (1, 120), (1, 75), (2, 149), (2, 98), (2, 33), (3, 140))
FEEDBACK = (  # news_id, user_id, value
    (150, 1, 1), (150, 2, 1), (149, 1, 1), (149, 3, -1), (148, 2, -1), (145, 1, 1), (142, 4, 1),
    (140, 3, 1), (133, 2, 1), (120, 1, -1), (110, 4, 1), (98, 2, 1), (75, 3, -1), (60, 1, 1),
    (33, 2, 1),
)
NOTIFICATIONS = (  # user, title, body, is_read, hours ago
    (1, "Your digest is ready", "Crypto and markets: 5 stories picked for you.", True, 74),
    (1, "FOMC rate decision next week", "Add the event to your calendar.", False, 20),
    (1, "Bitcoin is moving", "Bitcoin swung sharply in the last hour.", False, 2),
    (2, "Welcome to News Digest", "Pick categories to subscribe to.", True, 500),
    (2, "Your digest is ready", "Crypto and world: 6 stories picked for you.", True, 49),
    (2, "Ethereum update", "New stories about Ethereum staking.", False, 5),
    (3, "New feature: bookmarks", "Save stories to read later.", True, 100),
    (3, "Champions League recap", "Highlights from last night's games.", False, 26),
)
SESSIONS = (  # user, hours ago, one letter per analytics event (see EVENT_CODES), 2 min apart
    (1, 300, "osvvd"), (2, 280, "osvv"), (None, 260, "ov"), (3, 230, "osv"), (1, 200, "ovbd"),
    (2, 170, "ovvd"), (None, 150, "o"), (4, 130, "osvv"), (2, 110, "oh"), (3, 100, "ovh"),
    (None, 90, "ov"), (1, 75, "ovvdh"), (2, 50, "ovbd"), (4, 30, "ov"), (None, 20, "ovv"),
    (4, 10, "ovv"), (1, 6, "ovvd"), (2, 3, "ovd"), (3, 1.5, "ov"), (None, 0.5, "o"),
)
EVENT_CODES = {"o": "app_open", "v": "news_view", "d": "digest_generate", "s": "subscribe",
               "b": "bookmark_add", "h": "share"}
CONFIG = (  # key, value, days ago
    ("features", {"digest_jobs": True, "events_stream": True, "bookmarks": True,
                  "beta_dashboard": False}, 1),
    ("digest_defaults", {"style": "brief", "tone": "neutral", "length": "medium",
                         "audience": "general"}, 7),
    ("maintenance_message", "", 7),
)
# fmt: on


def _table(columns: str, rows: Iterable[Sequence[Any]]) -> list[Row]:
    keys = columns.split()
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _midnight(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _between(a: datetime, b: datetime, frac: float) -> datetime:
    return a + (b - a) * frac


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _news(now: datetime, rng: random.Random) -> list[Row]:
    """Six items per subcategory, shuffled, with ids 1..N in publication order."""
    items = []
    for ci, (category, subs) in enumerate(CATEGORY_TREE.items()):
        for si, sub in enumerate(subs):
            for k in range(NEWS_PER_SUBCATEGORY):
                subject, n = SUBJECTS[sub][k // 2], round(rng.uniform(1, 40), 1)
                title = _cap(HEADLINES[category][(si + k) % 6].format(s=subject))
                summary = _cap(SUMMARIES[category][k % 2].format(s=subject, n=n))
                source = 7 if category == "tech" else 2 * ci + 1 + k % 2  # 8 is disabled
                importance = round(rng.uniform(0.05, 0.99), 2)
                items.append((title, summary, source, category, sub, importance))
    rng.shuffle(items)
    # Ages in seconds: six within the last hour, nine more earlier today, the rest over 14 days.
    ages = {300, 540, 1020, 1560, 2280, 3120}
    today = int((now - _midnight(now)).total_seconds())
    if today > 3900:
        ages.update(3600 + (today - 3600) * i // 10 for i in range(1, 10))
    while len(ages) < len(items):
        ages.add(rng.randint(3700, 14 * 86400 - 60))
    rows = []
    for i, (item, age) in enumerate(zip(items, sorted(ages, reverse=True), strict=True), 1):
        published = now - timedelta(seconds=age)
        link = f"https://demo.newsdigest.invalid/news/{i}"
        rows.append((i, *item, link, published, published + timedelta(minutes=1)))
    columns = "id title summary source_id category subcategory importance link published_at"
    return _table(f"{columns} created_at", rows)


def _events(now: datetime) -> list[Row]:
    base = _midnight(now)
    specs = []
    for cat, title, loc, day, hour, hours, imp in EVENTS:
        start = base + timedelta(days=day, hours=hour)
        specs.append((cat, title, loc, start, hours and start + timedelta(hours=hours), imp))
    last = base + timedelta(days=1, microseconds=-1)  # today's events never cross midnight
    elapsed, left = now - base, last - now

    def today(frac: float) -> datetime:
        return min(now + (elapsed if frac < 0 else left) * frac, last)

    for cat, title, loc, start_frac, end_frac, imp in TODAY_EVENTS:
        start, end = today(start_frac), None if end_frac is None else today(end_frac)
        specs.append((cat, title, loc, start, end if end and end > start else None, imp))
    specs.sort(key=lambda spec: spec[3])
    stamp = now - timedelta(days=10)
    return _table(
        "title description category location starts_at ends_at importance created_at updated_at",
        (
            (title, f"{title} in {loc}. {EVENT_BLURBS[cat]}", cat, loc, start, end, imp)
            + (stamp, stamp)
            for cat, title, loc, start, end, imp in specs
        ),
    )


def demo_rows(now: datetime) -> dict[str, list[Row]]:
    """All demo rows by table name, in `schema.TABLES` (foreign-key) order."""
    if now.tzinfo is not None:
        raise ValueError("`now` must be a naive UTC datetime")
    rng, base = random.Random(SEED), _midnight(now)
    d: dict[str, list[Row]] = {}

    def ago(**delta: float) -> datetime:
        return now - timedelta(**delta)

    fetched = {DISABLED_SOURCE: ago(days=20, hours=2), FAILING_SOURCE: ago(hours=3)}
    d["sources"] = _table(
        "name url category enabled last_fetched_at last_error created_at",
        (
            (name, f"http://127.0.0.1:9/feeds/{slug}.xml", cat, i != DISABLED_SOURCE)
            + (fetched.get(i, ago(minutes=10)), None, ago(days=30))
            for i, (name, slug, cat) in enumerate(SOURCES, 1)
        ),
    )
    d["sources"][FAILING_SOURCE - 1]["last_error"] = "HTTP 503 Service Unavailable"
    news = d["news"] = _news(now, rng)
    d["events"] = _events(now)
    users = []
    for i, (name, lang, blocked, days, seen) in enumerate(USERS, 1):
        created = _between(base, now, 0.5) if days is None else ago(days=days)
        last_seen = None if seen is None else ago(hours=seen)
        users.append((100000000 + i, name, lang, blocked, created, last_seen))
    columns = "telegram_id username language is_blocked created_at last_seen_at"
    d["users"] = _table(columns, users)
    joined = {i: user[4] for i, user in enumerate(users, 1)}
    d["subscriptions"] = _table(
        "user_id category created_at",
        (
            (user, cat, joined[user] + timedelta(hours=j + 1))
            for user, cats in SUBSCRIPTIONS.items()
            for j, cat in enumerate(cats)
        ),
    )
    d["user_preferences"] = _table(
        "user_id style tone length audience language notify_time timezone updated_at",
        ((*pref[:-1], ago(days=pref[-1])) for pref in PREFERENCES),
    )
    digests = []
    for user, hours, cats, style, tone, length, audience, limit, ms in DIGESTS:
        at = _between(base, now, 0.8) if hours is None else ago(hours=hours)
        pool = [n for n in news if n["category"] in cats and n["published_at"] < at]
        picked = sorted(pool, key=lambda n: (-n["importance"], n["id"]))[:limit]
        lines = [f"{' & '.join(c.title() for c in cats)} digest for {at:%Y-%m-%d}"]
        lines += [f"• {n['title']}" for n in picked]
        params: Row = {"style": style, "tone": tone, "length": length, "audience": audience}
        params |= {"limit": limit, "categories": list(cats)}
        ids = [n["id"] for n in picked]
        digests.append((user, "\n".join(lines), "extractive", ids, params, ms, at))
    columns = "user_id text model news_ids params duration_ms created_at"
    d["digests"] = _table(columns, digests)
    _, _, _, _, done_params, _, done = digests[2]  # the job below produced digest 3
    failed = ago(hours=5)
    failed_params = {**CONFIG[1][1], "limit": 5, "categories": ["markets"]}  # digest_defaults
    d["digest_jobs"] = _table(
        "id status user_id digest_id error params created_at updated_at",
        [
            (JOB_IDS[0], "done", 2, 3, None, done_params, done - timedelta(seconds=3), done),
            (JOB_IDS[1], "failed", 1, None, "Summarizer timed out after 30 s", failed_params)
            + (failed, failed + timedelta(seconds=30)),
        ],
    )
    published = {row["id"]: row["published_at"] for row in news}

    def after(news_id: int, user: int, frac: float) -> datetime:
        return _between(max(published[news_id], joined[user]), now, frac)

    d["bookmarks"] = _table(
        "user_id news_id created_at", ((u, n, after(n, u, 0.5)) for u, n in BOOKMARKS)
    )
    d["news_feedback"] = _table(
        "news_id user_id value created_at", ((n, u, v, after(n, u, 0.3)) for n, u, v in FEEDBACK)
    )
    d["notifications"] = _table(
        "user_id title body is_read created_at",
        ((*note[:-1], ago(hours=note[-1])) for note in NOTIFICATIONS),
    )
    analytics = []
    for user, hours_ago, codes in SESSIONS:
        topics = SUBSCRIPTIONS.get(user or 0, ("world", "tech"))
        for step, code in enumerate(codes):
            at = ago(hours=hours_ago) + timedelta(minutes=2 * step)
            item = rng.choice([n for n in news if n["published_at"] <= at] or news[:1])
            props = {
                "o": {"platform": "telegram" if user else "web"},
                "v": {"news_id": item["id"], "category": item["category"]},
                "d": {"categories": list(topics), "style": "brief"},
                "s": {"category": topics[0]},
                "b": {"news_id": item["id"]},
                "h": {"news_id": item["id"], "channel": "telegram"},
            }[code]
            analytics.append((EVENT_CODES[code], user, props, at))
    analytics.sort(key=lambda row: row[3])
    d["analytics_events"] = _table("name user_id props created_at", analytics)
    d["app_config"] = _table("key value updated_at", ((k, v, ago(days=n)) for k, v, n in CONFIG))
    audit = [
        ("source.disable", f"sources:{DISABLED_SOURCE}", {"reason": "feed moved"}, ago(days=20)),
        ("config.update", "app_config:features", {"beta_dashboard": False}, ago(days=1)),
        ("user.block", "users:5", {"reason": "spam"}, _between(joined[5], now, 0.5)),
    ]
    columns = "actor action target details created_at"
    d["audit_log"] = _table(columns, ((DEMO_ADMIN_ACTOR, *entry) for entry in audit))
    for name in ID_TABLES:
        for i, row in enumerate(d.get(name, ()), 1):
            row["id"] = i
    # The gateway's own tables start empty.
    return copy.deepcopy({table.name: d.get(table.name, []) for table in schema.TABLES})


async def load_demo_data(conn: AsyncConnection, *, now: datetime) -> dict[str, int]:
    """Insert the demo rows on `conn` (no commit) and return the row count per table."""
    data = demo_rows(now)
    for table in schema.TABLES:
        if data[table.name]:
            await conn.execute(sa.insert(table), data[table.name])
    return {name: len(rows) for name, rows in data.items() if rows}
