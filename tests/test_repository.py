"""What a new engineer relies on besides the code: the compose file and its image."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_postgresql_and_the_gateway_against_it() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"postgres", "gateway"}
    gateway = services["gateway"]
    assert gateway["build"] == "." and (ROOT / "Dockerfile").is_file()
    assert "postgres" in gateway["depends_on"]
    assert gateway["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in gateway["environment"]["DATABASE_URL"]
    assert services["postgres"]["image"].startswith("postgres:")


def test_the_image_copies_what_exists_and_serves_the_gateway() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE):
        for name in line.split():
            assert (ROOT / name).exists(), name
    assert '"gateway", "serve"' in dockerfile
