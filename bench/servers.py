"""Running configurations: started on free ports with their own database copy, kept while
scenarios that share their settings need them, and stopped together."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.configs import Configuration, write_manifest
from bench.databases import Backend
from bench.processes import (
    ManagedProcess,
    ProcessRegistry,
    StartFailed,
    free_port,
    wait_until_answers,
)

ADMIN_TOKEN = "bench-admin-token-0123456789"
STARTUP_TIMEOUT = 120.0


@dataclass(frozen=True)
class Profile:
    """The settings a scenario runs its servers with (beyond each configuration's own)."""

    name: str
    backend: str = "sqlite"
    latency_ms: int = 0
    pool_size: int = 10
    backend_label: str = ""  # how the report names the backend, when not by its name

    def env(self) -> dict[str, str]:
        return {
            "DB_SIMULATED_LATENCY_MS": str(self.latency_ms),
            "DB_POOL_SIZE": str(self.pool_size),
        }

    def describe(self) -> str:
        words = [self.backend_label or self.backend]
        if self.latency_ms:
            words.append(f"DB_SIMULATED_LATENCY_MS={self.latency_ms}")
        words.append(f"DB_POOL_SIZE={self.pool_size}")
        return ", ".join(words)


@dataclass
class Server:
    config: Configuration
    profile: Profile
    port: int
    process: ManagedProcess
    database_url: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.config.name, self.profile.name)


class Stubs:
    """The OpenAI and feed stand-ins, one process (bench/stubs.py)."""

    def __init__(
        self,
        registry: ProcessRegistry,
        run_dir: Path,
        *,
        feeds: int = 20,
        openai_delay_s: float = 2.0,
    ) -> None:
        self.registry = registry
        self.ready_file = run_dir / "stubs.json"
        self.feeds = feeds
        self.openai_delay_s = openai_delay_s
        self.process: ManagedProcess | None = None
        self.openai_base_url = ""
        self.feed_urls: list[str] = []

    def start(self, env: dict[str, str]) -> None:
        argv = [
            _python(),
            "-m",
            "bench.stubs",
            "--ready-file",
            str(self.ready_file),
            "--openai-delay",
            f"{self.openai_delay_s:g}",
            "--feeds",
            str(self.feeds),
            "--feed-delay",
            "0.3",
        ]
        self.process = self.registry.start("stubs", argv, env=env)
        deadline = time.monotonic() + 60
        while not self.ready_file.exists():
            if not self.process.alive() or time.monotonic() > deadline:
                raise StartFailed(f"the stub servers did not start:\n{self.process.log_tail()}")
            time.sleep(0.1)
        ready = json.loads(self.ready_file.read_text())
        self.openai_base_url = ready["openai_base_url"]
        self.feed_urls = ready["feed_urls"]

    def stop(self) -> None:
        if self.process is not None:
            self.registry.stop(self.process)
            self.process = None


class ServerPool:
    """Servers by (configuration, profile): started when first needed, reused by later
    scenarios with the same settings, stopped when no remaining scenario needs them."""

    def __init__(
        self,
        registry: ProcessRegistry,
        run_dir: Path,
        *,
        base_env: dict[str, str],
        backends: dict[str, Backend],
    ) -> None:
        self.registry = registry
        self.run_dir = run_dir
        self.base_env = base_env
        self.backends = backends
        self.servers: dict[tuple[str, str], Server] = {}
        self.manifests: dict[str, Path] = {}
        self.manifest_facts: dict[str, dict] = {}

    def manifest(self, kind: str) -> Path:
        if kind not in self.manifests:
            path, facts = write_manifest(kind, self.run_dir)
            self.manifests[kind], self.manifest_facts[kind] = path, facts
        return self.manifests[kind]

    def env_for(self, config: Configuration, profile: Profile, database_url: str) -> dict[str, str]:
        env = {**self.base_env, **profile.env(), **config.env, "DATABASE_URL": database_url}
        if config.manifest:
            env["MIGRATION_MANIFEST"] = str(self.manifest(config.manifest))
        return env

    def acquire(
        self, configs: list[Configuration], profile: Profile
    ) -> tuple[dict[str, Server], dict[str, str]]:
        """Every configuration running with `profile` (the missing ones started in parallel),
        and why any of them could not start."""
        missing = [c for c in configs if (c.name, profile.name) not in self.servers]
        backend = self.backends[profile.backend]
        started: list[Server] = []
        for config in missing:
            database_url = backend.copy(f"{config.name}_{profile.name}")
            port = free_port()
            process = self.registry.start(
                config.name,
                config.argv(port),
                env=self.env_for(config, profile, database_url),
                log_name=f"{config.name}--{profile.name}",
            )
            server = Server(config, profile, port, process, database_url)
            self.servers[server.key] = server
            started.append(server)

        def ready(server: Server) -> str | None:
            try:
                wait_until_answers(
                    server.process, server.port, server.config.ready_path, timeout=STARTUP_TIMEOUT
                )
            except StartFailed as exc:
                return str(exc)
            return None

        with ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
            problems = list(zip(started, pool.map(ready, started), strict=True))
        failures = {}
        for server, problem in problems:
            if problem is not None:
                failures[server.config.name] = problem
                self.stop(server)
        running = {
            c.name: self.servers[(c.name, profile.name)]
            for c in configs
            if (c.name, profile.name) in self.servers
        }
        return running, failures

    def release(self, keep: set[tuple[str, str]]) -> None:
        """Stop every server whose (configuration, profile) is not in `keep`, in parallel."""
        self._stop_many([s for k, s in self.servers.items() if k not in keep])

    def _stop_many(self, servers: list[Server]) -> None:
        if servers:
            with ThreadPoolExecutor(max_workers=len(servers)) as pool:
                list(pool.map(self.stop, servers))

    def stop(self, server: Server) -> None:
        self.registry.stop(server.process)
        self.servers.pop(server.key, None)
        backend = self.backends.get(server.profile.backend)
        if backend is not None:
            try:
                backend.drop_copy(server.database_url)
            except Exception as exc:
                print(f"could not drop {server.database_url}: {exc}")

    def stop_all(self) -> None:
        self._stop_many(list(self.servers.values()))


def _python() -> str:
    import sys

    return sys.executable


def base_environment(*, openai_base_url: str | None) -> dict[str, str]:
    """What every server gets: a clean environment, not the caller's."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        ENVIRONMENT="development",
        DEMO_DATA="false",
        ADMIN_TOKEN=ADMIN_TOKEN,
        AI_TIMEOUT_SECONDS="30",
        LEGACY_THREADS="32",
    )
    if openai_base_url:
        env.update(OPENAI_API_KEY="test", OPENAI_BASE_URL=openai_base_url)
    return env
