"""The outside services, as a process of their own so they never share the harness's CPU
time with the load generator: `python -m bench.stubs --ready-file F [...]`.

An OpenAI-compatible server that answers after `--openai-delay` seconds, and a feed
server with `--feeds` RSS feeds that each answer after `--feed-delay` seconds (the stand-ins
of tests/support/servers.py). When both listen, their URLs are written to the ready file
as JSON; the process then waits for SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

from tests.support.servers import FeedServer, OpenAIStub


def feed_path(index: int) -> str:
    return f"/feeds/bench-{index}.xml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stubs")
    parser.add_argument("--ready-file", required=True, type=Path)
    parser.add_argument("--openai-delay", type=float, default=2.0)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--feed-delay", type=float, default=0.3)
    parser.add_argument("--items-per-feed", type=int, default=5)
    args = parser.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with OpenAIStub(delay_seconds=args.openai_delay) as openai, FeedServer() as feeds:
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        urls = []
        for index in range(args.feeds):
            path = feed_path(index)
            items = FeedServer.make_items(
                args.items_per_feed,
                prefix=f"Bench feed {index} story",
                start=start,
                link_base=f"http://127.0.0.1/bench/{index}",
            )
            feeds.add_rss(path, items, title=f"Bench feed {index}")
            feeds.set_delay(path, args.feed_delay)
            urls.append(feeds.feed_url(path))
        ready = {"openai_base_url": openai.base_url + "/v1", "feed_urls": urls}
        tmp = args.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(ready), encoding="utf-8")
        tmp.replace(args.ready_file)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
