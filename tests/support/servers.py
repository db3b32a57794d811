"""Real HTTP servers on 127.0.0.1 standing in for outside services in tests and benchmarks.

Real sockets, clients and timeouts, no network: each binds 127.0.0.1:0, is a context manager.
"""

from __future__ import annotations

import contextlib
import email.utils
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self, cast
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape, quoteattr


class _Server(ThreadingHTTPServer):
    """Tracks open connections so stop() can cut keep-alives and stuck responses."""

    daemon_threads = True
    request_queue_size = 512  # default 5 drops SYNs under bursts: 1 s retransmit stalls

    def __init__(self, stub: _StubServer) -> None:
        self.stub = stub
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up early is expected in tests; keep stderr quiet."""


class _Handler(BaseHTTPRequestHandler):
    """Reads the body once, then hands the request to the owning stub."""

    protocol_version = "HTTP/1.1"  # keep-alive like real APIs; every reply has Content-Length
    # The headers and the body go out in two writes: without TCP_NODELAY the body waits
    # for the client's delayed ACK of the headers (40 ms on Linux), as no real server's does.
    disable_nagle_algorithm = True
    server_version = "StubServer/1.0"
    timeout = 30  # idle keep-alive connections end on their own
    body: bytes = b""
    path_only: str = "/"

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request stderr noise."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length > 0 else b""
        self.path_only = urlsplit(self.path).path
        cast(_Server, self.server).stub._handle(self)

    do_GET = do_POST = _dispatch

    def json_body(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def start_reply(
        self, status: int, content_type: str, length: int, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.start_reply(status, content_type, len(body), headers)
        self.wfile.write(body)

    def reply_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.reply(status, json.dumps(obj).encode(), headers=headers)

    def reply_truncated(self, body: bytes, content_type: str = "application/json") -> None:
        """Promise the whole body, send half of it, hang up: a connection lost mid-answer."""
        self.start_reply(200, content_type, len(body))
        with contextlib.suppress(OSError):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
        self.close_connection = True

    def drop(self) -> None:
        """Abandon the request unanswered (the server is stopping)."""
        self.close_connection = True


# How a stub misbehaves; every stub has these (FeedServer per path, with `add_fault`):
#   hang:        no answer until `hang_seconds` pass or the server stops (then it hangs up)
#   error:       HTTP 500 with the service's error body
#   garbage:     HTTP 200 with a body that is neither JSON nor XML
#   wrong_shape: HTTP 200 with well-formed JSON (or XML) that is not the expected answer
#   truncated:   HTTP 200 whose body stops halfway (the connection drops)
FAULT_MODES = ("hang", "error", "garbage", "wrong_shape", "truncated")
GARBAGE = b"<html><body>502 Bad Gateway \x00\xff definitely not JSON"


class _StubServer:
    """Shared lifecycle: start/stop, context manager, sleeps that end when stopping."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        if self._httpd is None:
            self._stopping.clear()
            self._httpd = _Server(self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                args=(0.05,),
                name=f"{type(self).__name__}-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in delay/hang
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _pause(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False means "stopping, give up"."""
        return not (self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set())

    def _handle(self, req: _Handler) -> None:
        raise NotImplementedError


class OpenAIStub(_StubServer):
    """OpenAI-compatible chat-completions endpoint with switchable failure modes."""

    MODES = ("ok", *FAULT_MODES)  # anything else behaves like "ok"
    # wrong_shape: HTTP 200 with this JSON (the example); tests set others.
    WRONG_SHAPE: Any = {"choices": [{"nope": 1}]}

    def __init__(
        self,
        *,
        reply_prefix: str = "AI digest: ",
        delay_seconds: float = 0.0,
        mode: str = "ok",
        hang_seconds: float = 60.0,
        garbage_content_type: str = "application/json",
    ) -> None:
        super().__init__()
        self._defaults = (reply_prefix, delay_seconds, mode, hang_seconds, garbage_content_type)
        self._requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.reply_prefix: str = reply_prefix
        self.delay_seconds: float = delay_seconds
        self.mode: str = mode
        self.hang_seconds: float = hang_seconds
        # openai's SDK raises json.JSONDecodeError for a bad "application/json" body but
        # silently *returns the text* as a str for other content types (e.g. "text/html").
        self.garbage_content_type: str = garbage_content_type
        self.wrong_shape_body: Any = self.WRONG_SHAPE
        self._errors_next: list[tuple[int, int | None]] = []
        self._call_times: list[float] = []

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Snapshot of recorded requests: {path, headers, json}."""
        with self._lock:
            return list(self._requests)

    @property
    def call_times(self) -> list[float]:
        """time.monotonic() of every chat completion asked for, in arrival order."""
        with self._lock:
            return list(self._call_times)

    def errors_next(self, *answers: tuple[int, int | None]) -> None:
        """The next chat completions answer these HTTP errors, in order, each with its
        `Retry-After` seconds (or none); then the stub answers as its mode says."""
        with self._lock:
            self._errors_next = list(answers)

    def reset(self) -> None:
        """Forget requests and restore the constructor settings."""
        with self._lock:
            self._requests.clear()
            self._errors_next.clear()
            self._call_times.clear()
            (
                self.reply_prefix,
                self.delay_seconds,
                self.mode,
                self.hang_seconds,
                self.garbage_content_type,
            ) = self._defaults
            self.wrong_shape_body = self.WRONG_SHAPE

    @staticmethod
    def reply_text_for(messages: Any, prefix: str = "AI digest: ") -> str:
        """Deterministic answer: prefix + first line of the last user message."""
        content: Any = ""
        for msg in reversed(messages if isinstance(messages, list) else []):
            if isinstance(msg, dict) and msg.get("role") == "user":
                content = msg.get("content") or ""
                break
        if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        lines = str(content).strip().splitlines()
        return prefix + (lines[0] if lines else "")

    def _handle(self, req: _Handler) -> None:
        body = req.json_body()
        headers = {k.lower(): v for k, v in req.headers.items()}
        with self._lock:
            self._requests.append({"path": req.path_only, "headers": headers, "json": body})
            mode, delay, prefix = self.mode, self.delay_seconds, self.reply_prefix
            hang, garbage_type = self.hang_seconds, self.garbage_content_type
            wrong_shape = self.wrong_shape_body
            path = req.path_only.rstrip("/")
            chat = req.command == "POST" and path in ("/v1/chat/completions", "/chat/completions")
            forced = self._errors_next.pop(0) if chat and self._errors_next else None
            if chat:
                self._call_times.append(time.monotonic())
        if forced is not None:
            status, retry_after = forced
            kind = "rate_limit_exceeded" if status == 429 else "stub_error"
            err = {"message": f"stub HTTP {status}", "type": kind, "code": None}
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            req.reply_json(status, {"error": err}, headers=headers)
        elif req.command == "GET" and path in ("/v1/models", "/models"):
            model = {"id": "stub-model", "object": "model", "created": 0, "owned_by": "stub"}
            req.reply_json(200, {"object": "list", "data": [model]})
        elif req.command != "POST" or path not in ("/v1/chat/completions", "/chat/completions"):
            err = {"message": f"Unknown path {req.path_only}", "type": "invalid_request_error"}
            req.reply_json(404, {"error": err})
        elif not self._pause(delay) or (mode == "hang" and not self._pause(hang)):
            req.drop()
        elif mode == "error":
            err = {"message": "stub server error", "type": "server_error", "code": None}
            req.reply_json(500, {"error": err})
        elif mode == "garbage":
            req.reply(200, GARBAGE, garbage_type)
        elif mode == "wrong_shape":
            req.reply_json(200, wrong_shape)
        else:
            answer = self._completion(body if isinstance(body, dict) else {}, prefix)
            if mode == "truncated":
                req.reply_truncated(json.dumps(answer).encode())
            else:
                req.reply_json(200, answer)

    def _completion(self, body: dict[str, Any], prefix: str) -> dict[str, Any]:
        messages = body.get("messages") or []
        text = self.reply_text_for(messages, prefix)
        prompt = sum(
            len(str(m.get("content", "")).split()) for m in messages if isinstance(m, dict)
        )
        done = len(text.split())
        return {
            "id": f"chatcmpl-stub-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or "stub-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": done,
                "total_tokens": prompt + done,
            },
        }


class SentMessage(NamedTuple):
    """One delivered sendMessage, as the bot API saw it."""

    token: str
    chat_id: int | str
    text: str


class TelegramBotAPIStub(_StubServer):
    """Stand-in for api.telegram.org: /bot<TOKEN>/<method>, JSON, form or query params."""

    _PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)/?$")
    MODES = ("ok", *FAULT_MODES)  # for every method; anything else behaves like "ok"
    # wrong_shape: HTTP 200 with this JSON (no "ok"); tests set others, e.g. {"ok": False}.
    WRONG_SHAPE: Any = {"result": {"message_id": 1}}

    def __init__(self, *, delay_seconds: float = 0.0, hang_seconds: float = 60.0) -> None:
        super().__init__()
        self._default_delay = self.delay_seconds = delay_seconds
        self._default_hang = self.hang_seconds = hang_seconds
        self.mode = "ok"
        self.wrong_shape_body: Any = self.WRONG_SHAPE
        self.failing_chat_ids: set[int] = set()  # 403: the user blocked the bot
        self.unknown_chat_ids: set[int] = set()  # 400: chat not found
        # Flood control: until `busy_until` (time.monotonic()) every call is a 429 asking
        # to retry after `busy_retry_after` seconds, as Telegram's `parameters.retry_after`.
        self.busy_until = 0.0
        self.busy_retry_after = 1
        self._sent: list[SentMessage] = []
        self._requests: list[dict[str, Any]] = []
        self._call_times: list[float] = []
        self._message_ids = itertools.count(1)

    @property
    def sent(self) -> list[SentMessage]:
        """Snapshot of delivered messages as (token, chat_id, text)."""
        with self._lock:
            return list(self._sent)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Snapshot of every call, failed ones too: {token, method, params, flood_controlled}
        (flood_controlled: answered 429, see `busy_for`)."""
        with self._lock:
            return list(self._requests)

    @property
    def call_times(self) -> list[float]:
        """time.time() of every call, in arrival order (wall-clock, as Telegram counts)."""
        with self._lock:
            return list(self._call_times)

    def busy_for(self, seconds: float, *, retry_after: int = 1) -> None:
        """Answer 429 (flood control) to every call for the next `seconds`."""
        with self._lock:
            self.busy_until = time.monotonic() + seconds
            self.busy_retry_after = retry_after

    def reset(self) -> None:
        with self._lock:
            self._sent.clear()
            self._requests.clear()
            self._call_times.clear()
            self.busy_until = 0.0
            self.busy_retry_after = 1
            self.failing_chat_ids = set()
            self.unknown_chat_ids = set()
            self.delay_seconds = self._default_delay
            self.hang_seconds = self._default_hang
            self.mode = "ok"
            self.wrong_shape_body = self.WRONG_SHAPE

    @staticmethod
    def _params(req: _Handler) -> dict[str, Any]:
        params: dict[str, Any] = dict(parse_qsl(urlsplit(req.path).query))
        ctype = req.headers.get("Content-Type", "")
        if "json" in ctype and isinstance(body := req.json_body(), dict):
            params.update(body)
        elif "x-www-form-urlencoded" in ctype:
            params.update(parse_qsl(req.body.decode("utf-8", "replace")))
        return params

    def _handle(self, req: _Handler) -> None:
        match = self._PATH.match(req.path_only)
        params = self._params(req)
        token, method = (match["token"], match["method"]) if match else ("", "")
        with self._lock:
            busy = time.monotonic() < self.busy_until
            retry_after = self.busy_retry_after
            request = {"token": token, "method": method, "params": params}
            self._requests.append({**request, "flood_controlled": busy})
            self._call_times.append(time.time())
            delay, failing = self.delay_seconds, set(self.failing_chat_ids)
            unknown = set(self.unknown_chat_ids)
            mode, hang, wrong_shape = self.mode, self.hang_seconds, self.wrong_shape_body
        if not self._pause(delay) or (mode == "hang" and not self._pause(hang)):
            req.drop()
        elif busy:
            err = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            }
            req.reply_json(429, err)
        elif mode == "error":
            err = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            req.reply_json(500, err)
        elif mode == "garbage":
            req.reply(200, GARBAGE, "text/html")
        elif mode == "wrong_shape":
            req.reply_json(200, wrong_shape)
        elif mode == "truncated":
            req.reply_truncated(json.dumps({"ok": True, "result": {"message_id": 1}}).encode())
        elif method == "getMe":
            bot = {"id": 100000001, "is_bot": True, "first_name": "Stub", "username": "stub_bot"}
            req.reply_json(200, {"ok": True, "result": bot})
        elif method == "sendMessage":
            self._send_message(req, token, params, failing, unknown)
        else:
            err = {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            req.reply_json(404, err)

    def _send_message(
        self,
        req: _Handler,
        token: str,
        params: dict[str, Any],
        failing: set[int],
        unknown: set[int],
    ) -> None:
        chat_id: int | str = params.get("chat_id", "")
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        text = str(params.get("text") or "")
        if chat_id in ("", None) or not text:
            desc = "Bad Request: message text is empty" if text == "" else "Bad Request: no chat"
            req.reply_json(400, {"ok": False, "error_code": 400, "description": desc})
        elif chat_id in unknown:
            desc = "Bad Request: chat not found"
            req.reply_json(400, {"ok": False, "error_code": 400, "description": desc})
        elif chat_id in failing:
            desc = "Forbidden: bot was blocked by the user"
            req.reply_json(403, {"ok": False, "error_code": 403, "description": desc})
        else:
            with self._lock:
                self._sent.append(SentMessage(token, chat_id, text))
                message_id = next(self._message_ids)
            result = {
                "message_id": message_id,
                "chat": {"id": chat_id},
                "text": text,
                "date": int(time.time()),
            }
            req.reply_json(200, {"ok": True, "result": result})


def make_items(
    n: int,
    *,
    prefix: str = "Item",
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    step: timedelta = timedelta(hours=1),
    link_base: str = "http://127.0.0.1/articles",
) -> list[dict[str, Any]]:
    """n feed items with predictable titles, links and timestamps (start + i * step)."""
    slug = re.sub(r"[^a-z0-9]+", "-", prefix.lower()).strip("-") or "item"
    return [
        {
            "title": f"{prefix} {i}",
            "link": f"{link_base.rstrip('/')}/{slug}-{i}",
            "summary": f"Summary of {prefix} {i}",
            "published": start + i * step,
        }
        for i in range(n)
    ]


def _aware(dt: datetime) -> datetime:
    """Naive datetimes are taken as UTC so feeds always carry an offset."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _text(item: Mapping[str, Any], key: str, default: str = "") -> str:
    return escape(str(item.get(key, default)))


class _Route(NamedTuple):
    body: bytes
    content_type: str
    status: int
    huge_size: int | None = None
    fault: str | None = None  # "hang" or "truncated"; the others are plain bodies


class FeedServer(_StubServer):
    """Serves RSS 2.0 / Atom / raw bodies per path, with per-path delays and huge bodies."""

    make_items = staticmethod(make_items)
    _CHUNK = 64 * 1024
    _XML = '<?xml version="1.0" encoding="utf-8"?>\n'

    def __init__(self) -> None:
        super().__init__()
        self._routes: dict[str, _Route] = {}
        self._delays: dict[str, float] = {}
        self._hits: dict[str, int] = {}

    @staticmethod
    def _norm(path: str) -> str:
        return path if path.startswith("/") else "/" + path

    @property
    def hits(self) -> dict[str, int]:
        """Snapshot of request counts per path (unknown paths included)."""
        with self._lock:
            return dict(self._hits)

    def feed_url(self, path: str) -> str:
        return self.base_url + self._norm(path)

    def reset(self) -> None:
        """Drop all feeds, delays and hit counts."""
        with self._lock:
            self._routes.clear()
            self._delays.clear()
            self._hits.clear()

    def set_delay(self, path: str, seconds: float) -> None:
        with self._lock:
            self._delays[self._norm(path)] = seconds

    def add_raw(
        self, path: str, body: bytes, *, content_type: str = "application/xml", status: int = 200
    ) -> str:
        """Serve body as-is: broken XML, HTML error pages, odd statuses."""
        with self._lock:
            self._routes[self._norm(path)] = _Route(body, content_type, status)
        return self._norm(path)

    def add_huge(self, path: str, size_bytes: int) -> str:
        """Stream exactly size_bytes (RSS start, then filler) to exercise size limits."""
        with self._lock:
            self._routes[self._norm(path)] = _Route(b"", "application/rss+xml", 200, size_bytes)
        return self._norm(path)

    def add_fault(self, path: str, mode: str, *, hang_seconds: float = 60.0) -> str:
        """Serve one of FAULT_MODES at path (wrong_shape: a JSON document, not a feed)."""
        feed = self._XML + '<rss version="2.0"><channel><title>Cut</title><item><title>One'
        routes = {
            "hang": _Route(b"", "application/rss+xml", 200, fault="hang"),
            "error": _Route(b"<html><h1>500 Internal Server Error</h1></html>", "text/html", 500),
            "garbage": _Route(GARBAGE, "application/rss+xml", 200),
            "wrong_shape": _Route(b'{"items": [{"title": 1}]}', "application/json", 200),
            "truncated": _Route(feed.encode() * 4, "application/rss+xml", 200, fault="truncated"),
        }
        with self._lock:
            self._routes[self._norm(path)] = routes[mode]
            if mode == "hang":
                self._delays[self._norm(path)] = hang_seconds
        return self._norm(path)

    def add_rss(self, path: str, items: Iterable[Mapping[str, Any]], *, title: str = "Feed") -> str:
        out = [
            self._XML,
            '<rss version="2.0"><channel>',
            f"<title>{escape(title)}</title>",
            f"<link>http://127.0.0.1/</link><description>{escape(title)}</description>",
        ]
        for item in items:
            out.append(
                f"<item><title>{_text(item, 'title')}</title>"
                f"<link>{_text(item, 'link')}</link>"
                f"<description>{_text(item, 'summary')}</description>"
                f'<guid isPermaLink="false">{_text(item, "guid", item.get("link", ""))}'
                "</guid>"
            )
            if item.get("published") is not None:
                pub = email.utils.format_datetime(_aware(item["published"]))
                out.append(f"<pubDate>{pub}</pubDate>")
            out.append("</item>")
        out.append("</channel></rss>\n")
        return self.add_raw(path, "".join(out).encode(), content_type="application/rss+xml")

    def add_atom(
        self, path: str, items: Iterable[Mapping[str, Any]], *, title: str = "Feed"
    ) -> str:
        items = list(items)
        stamps = [_aware(i["published"]) for i in items if i.get("published") is not None]
        updated = max(stamps, default=datetime(2000, 1, 1, tzinfo=UTC))
        out = [
            self._XML,
            '<feed xmlns="http://www.w3.org/2005/Atom">',
            f"<title>{escape(title)}</title><id>urn:stub-feed:{escape(self._norm(path))}</id>",
            f"<updated>{updated.isoformat(timespec='seconds')}</updated>",
        ]
        for item in items:
            out.append(
                f"<entry><title>{_text(item, 'title')}</title>"
                f"<link href={quoteattr(str(item.get('link', '')))}/>"
                f"<id>{_text(item, 'guid', item.get('link', ''))}</id>"
                f"<summary>{_text(item, 'summary')}</summary>"
            )
            if item.get("published") is not None:
                stamp = _aware(item["published"]).isoformat(timespec="seconds")
                out.append(f"<updated>{stamp}</updated><published>{stamp}</published>")
            out.append("</entry>")
        out.append("</feed>\n")
        return self.add_raw(path, "".join(out).encode(), content_type="application/atom+xml")

    def _handle(self, req: _Handler) -> None:
        path = req.path_only
        with self._lock:
            self._hits[path] = self._hits.get(path, 0) + 1
            route, delay = self._routes.get(path), self._delays.get(path, 0.0)
        if not self._pause(delay):
            req.drop()
        elif route is None:
            req.reply(404, b"not found", "text/plain")
        elif route.fault == "hang":  # still here after hang_seconds: hang up unanswered
            req.drop()
        elif route.fault == "truncated":
            req.reply_truncated(route.body, route.content_type)
        elif route.huge_size is None:
            req.reply(route.status, route.body, route.content_type)
        else:
            self._stream_huge(req, route.huge_size)

    def _stream_huge(self, req: _Handler, size: int) -> None:
        head = (
            self._XML + '<rss version="2.0"><channel><title>Huge</title>'
            "<link>http://127.0.0.1/</link><description>"
        ).encode()[:size]
        req.start_reply(200, "application/rss+xml", size)
        remaining = size - len(head)
        try:
            req.wfile.write(head)
            while remaining > 0 and not self._stopping.is_set():
                req.wfile.write(b"x" * min(self._CHUNK, remaining))
                remaining -= self._CHUNK
        except OSError:  # the client hit its size limit and hung up: that is the point
            remaining = 1
        if remaining > 0:
            req.drop()
