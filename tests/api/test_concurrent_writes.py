"""Identical writes racing each other: every request answered, never a 5xx, one row.

Each burst fires 20 identical requests at once, each on a connection of its own, so a
connection the server drops without a status line is seen as a transport error rather
than hidden by a retry. A look-then-insert write fails this (two requests both find no
row, both insert, one trips the unique constraint); an `ON CONFLICT` statement holds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from shared.database.schema import users
from shared.telegram_auth import sign_init_data
from tests.conftest import WEBHOOK_SECRET
from tests.support.gateway_server import GatewayServer

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
RACERS = 20
SECRET = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
BOT_TOKEN = "123456:test-bot-token"
DAVE = 4  # demo user: subscribed to tech and markets, no bookmarks, no preferences row
CAROL = 3  # demo user: one bookmark, news item 140


def burst(client: httpx.Client, method: str, path: str, **request: Any) -> list[httpx.Response]:
    """`RACERS` identical requests at once, a fresh connection each; all must be answered,
    by the half under test, without a 5xx."""

    async def race() -> list[httpx.Response | Exception]:
        # No keep-alive: every request opens (and then closes) a connection of its own.
        limits = httpx.Limits(max_connections=RACERS, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=client.base_url, timeout=60, limits=limits) as http:

            async def one() -> httpx.Response | Exception:
                try:
                    return await http.request(method, path, **request)
                except httpx.TransportError as exc:  # e.g. closed without a status line
                    return exc

            return await asyncio.gather(*(one() for _ in range(RACERS)))

    answers = asyncio.run(race())
    dropped = [repr(answer) for answer in answers if isinstance(answer, Exception)]
    assert dropped == [], f"{len(dropped)} of {RACERS} requests got no answer: {dropped[:3]}"
    responses = [answer for answer in answers if isinstance(answer, httpx.Response)]
    failed = [(r.status_code, r.text[:200]) for r in responses if r.status_code >= 500]
    assert failed == [], f"{len(failed)} of {RACERS} answers were 5xx: {failed[:3]}"
    for response in responses:  # the `client` fixture's check: the half under test answered
        for hook in client.event_hooks["response"]:
            hook(response)
    return responses


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


def users_with_telegram_id(server: GatewayServer, telegram_id: int) -> int:
    """Rows, counted in the database: the API shows a user, never how many rows match."""
    runtime = server.gateway.runtime
    assert runtime is not None
    count = sa.select(sa.func.count()).select_from(users).where(users.c.telegram_id == telegram_id)
    return int(server.run(runtime.db.scalar(count)))


def subscribed(client: httpx.Client, user_id: int) -> list[str]:
    body = client.get("/api/subscriptions", params={"user_id": user_id}).json()
    return [item["category"] for item in body["subscriptions"]]


def bookmarked(client: httpx.Client, user_id: int) -> list[int]:
    body = client.get("/api/bookmarks", params={"user_id": user_id, "limit": 100}).json()
    return [item["id"] for item in body["items"]]


def one_user_id(responses: list[httpx.Response], key: Callable[[dict], int]) -> int:
    ids = {key(response.json()) for response in responses}
    assert len(ids) == 1, f"the racers were told of different users: {ids}"
    return ids.pop()


# -- get-or-create: users -------------------------------------------------------------------


def test_racing_sign_ups_create_one_user_and_tell_one_racer_it_was_created(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    responses = burst(client, "POST", "/api/users", json={"telegram_id": 310000001})
    assert statuses(responses) == {201: 1, 200: RACERS - 1}
    assert [r.json()["created"] for r in responses].count(True) == 1
    user_id = one_user_id(responses, lambda body: body["user"]["id"])
    assert users_with_telegram_id(gateway, 310000001) == 1
    assert client.get(f"/api/users/{user_id}").json()["user"]["telegram_id"] == 310000001


def test_racing_sign_ups_on_kept_alive_connections_are_all_answered(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    # A 5xx used to end its connection after the answer; a request the client had already
    # sent on that kept-alive connection then got no answer at all.
    async def race() -> Counter[int | str]:
        seen: Counter[int | str] = Counter()
        limits = httpx.Limits(max_connections=RACERS // 4)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60, limits=limits) as http:

            async def one(telegram_id: int) -> None:
                try:
                    response = await http.post("/api/users", json={"telegram_id": telegram_id})
                    seen[response.status_code] += 1
                except httpx.TransportError as exc:
                    seen[type(exc).__name__] += 1

            for telegram_id in (310000011, 310000012):
                await asyncio.gather(*(one(telegram_id) for _ in range(RACERS)))
        return seen

    assert asyncio.run(race()) == {201: 2, 200: 2 * RACERS - 2}


def test_racing_webapp_launches_create_one_user(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    launch = {"telegram_id": 310000002, "username": "launcher"}
    responses = burst(client, "POST", "/api/telegram/webhook", json=launch, headers=SECRET)
    assert statuses(responses) == {200: RACERS}
    user_id = one_user_id(responses, lambda body: body["user_id"])
    assert users_with_telegram_id(gateway, 310000002) == 1
    assert client.get(f"/api/users/{user_id}").json()["user"]["username"] == "launcher"


def test_racing_start_commands_create_one_user(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    update = {
        "update_id": 1,
        "message": {"from": {"id": 310000003, "language_code": "de"}, "text": "/start"},
    }
    responses = burst(client, "POST", "/api/telegram/webhook", json=update, headers=SECRET)
    assert statuses(responses) == {200: RACERS}
    user_id = one_user_id(responses, lambda body: body["user_id"])
    assert users_with_telegram_id(gateway, 310000003) == 1
    assert client.get(f"/api/users/{user_id}").json()["user"]["language"] == "de"


def test_racing_first_webapp_sign_ins_create_one_user(start_gateway: StartGateway) -> None:
    server, http = start_gateway(telegram_bot_token=BOT_TOKEN)
    newcomer = {"id": 310000004, "username": "newcomer"}
    signed = {"init_data": sign_init_data(newcomer, bot_token=BOT_TOKEN)}
    responses = burst(http, "POST", "/webapp/api/auth", json=signed)
    assert statuses(responses) == {200: RACERS}
    one_user_id(responses, lambda body: body["user"]["id"])
    assert users_with_telegram_id(server, 310000004) == 1


# -- subscribe, unsubscribe ---------------------------------------------------------------


def test_racing_subscribes_leave_one_subscription(client: httpx.Client) -> None:
    change = {"user_id": DAVE, "category": "world", "action": "subscribe"}
    responses = burst(client, "POST", "/api/subscriptions/update", json=change)
    assert statuses(responses) == {200: RACERS}
    answer = {"success": True, "category": "world", "subscribed": True}
    assert all(r.json() == answer for r in responses)
    assert subscribed(client, DAVE) == ["tech", "markets", "world"]


def test_racing_unsubscribes_all_succeed(client: httpx.Client) -> None:
    change = {"user_id": DAVE, "category": "tech", "action": "unsubscribe"}
    responses = burst(client, "POST", "/api/subscriptions/update", json=change)
    assert statuses(responses) == {200: RACERS}
    assert subscribed(client, DAVE) == ["markets"]


def test_racing_subscription_deletes_remove_it_once(client: httpx.Client) -> None:
    responses = burst(client, "DELETE", "/api/subscriptions/markets", params={"user_id": DAVE})
    assert statuses(responses) == {200: 1, 404: RACERS - 1}
    assert subscribed(client, DAVE) == ["tech"]


# -- bookmarks ------------------------------------------------------------------------------


def test_racing_bookmarks_add_one_the_rest_are_409(client: httpx.Client) -> None:
    responses = burst(client, "POST", "/api/bookmarks", json={"user_id": DAVE, "news_id": 10})
    assert statuses(responses) == {201: 1, 409: RACERS - 1}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"conflict"}
    assert bookmarked(client, DAVE) == [10]


def test_racing_bookmark_removals_remove_it_once(client: httpx.Client) -> None:
    responses = burst(client, "DELETE", "/api/bookmarks/140", params={"user_id": CAROL})
    assert statuses(responses) == {200: 1, 404: RACERS - 1}
    assert bookmarked(client, CAROL) == []


# -- upserts: preferences, news feedback ---------------------------------------------------


def test_racing_first_preference_writes_all_succeed(client: httpx.Client) -> None:
    change = {"timezone": "Europe/Berlin", "notify_time": "07:30"}
    responses = burst(client, "PUT", f"/api/users/{DAVE}/preferences", json=change)
    assert statuses(responses) == {200: RACERS}
    stored = client.get(f"/api/users/{DAVE}/preferences").json()
    assert all(r.json() == stored for r in responses)
    assert (stored["timezone"], stored["notify_time"]) == ("Europe/Berlin", "07:30")


def test_racing_votes_by_one_user_count_once(client: httpx.Client) -> None:
    before = client.get("/api/news/100").json()
    assert (before["likes"], before["dislikes"]) == (0, 0)
    vote = {"user_id": DAVE, "value": 1}
    responses = burst(client, "POST", "/api/news/100/feedback", json=vote)
    assert statuses(responses) == {200: RACERS}
    assert {(r.json()["likes"], r.json()["dislikes"]) for r in responses} == {(1, 0)}
    after = client.get("/api/news/100").json()
    assert (after["likes"], after["dislikes"]) == (1, 0)
