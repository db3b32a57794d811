"""The README stands alone: everything it and docs/ refer to is in the repository, its set-up
is the two commands, and the commands of "Trying it" work against a served gateway."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_TOKEN, ANCHOR, IN_CI, ROOT, make_settings
from tests.support.gateway_server import GatewayServer

README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A path in backticks that names something of the repository's own (a folder or a file).
REPO_PATH = re.compile(r"`((?:docs|tests|gateway|shared|async_api|legacy_flask|bench)/[\w./-]*)`")
LOCAL_URL = "http://127.0.0.1:8000"


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def shell_block(text: str) -> str:
    return re.search(r"```sh\n(.*?)```", text, re.DOTALL).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_link_and_path_points_inside_the_repository(document: Path) -> None:
    text = document.read_text()
    assert "shared/spec" not in text and "shared/seed" not in text
    targets = [link.split("#")[0] for link in LINK.findall(text)]
    for target in targets:
        if not target or re.match(r"[a-z]+:", target):  # anchors, http(s): and mailto:
            continue
        found = (document.parent / target).resolve()
        assert found.is_relative_to(ROOT), f"{document.name} links outside the repository: {target}"
        assert found.exists(), f"{document.name} links to a missing {target}"
    if document == README:
        for path in REPO_PATH.findall(text):
            assert (ROOT / path).exists(), f"README names a missing {path}"


def test_set_up_is_make_run_and_make_test() -> None:
    block = shell_block(section(README.read_text(), "The two commands"))
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert [command for command in commands if command] == ["make run", "make test"]
    assert "make run PORT=8080" in block


def trying_it_commands() -> list[list[str]]:
    """The `curl` commands of "Trying it", one argument list each (continued lines joined,
    comments dropped)."""
    block = shell_block(section(README.read_text(), "Trying it")).replace("\\\n", " ")
    commands = [shlex.split(line, comments=True) for line in block.splitlines()]
    return [command for command in commands if command and command[0] == "curl"]


def test_trying_it_includes_an_admin_call_and_a_webapp_page() -> None:
    urls = [arg for command in trying_it_commands() for arg in command if LOCAL_URL in arg]
    assert any("/admin/api/" in url for url in urls)
    assert any("/webapp/" in url for url in urls)
    admin = next(c for c in trying_it_commands() if any("/admin/api/" in arg for arg in c))
    assert "Authorization: Bearer $TOKEN" in admin


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[GatewayServer]:
    with GatewayServer(make_settings(database_url)) as server:
        server.reset_data(anchor=ANCHOR)
        yield server


def _curl() -> str:
    found = shutil.which("curl")
    if found:
        return found
    if IN_CI:
        pytest.fail("curl is required under CI=true (Debian package `curl`)")
    pytest.skip("curl is not installed")


# The commands do not depend on the database: SQLite only.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True, scope="session")
def test_trying_it_commands_answer_without_error(served: GatewayServer) -> None:
    curl = _curl()
    commands = trying_it_commands()
    assert len(commands) >= 6
    for command in commands:
        arguments = [
            arg.replace(LOCAL_URL, served.url).replace("$TOKEN", ADMIN_TOKEN) for arg in command[1:]
        ]
        result = subprocess.run(
            [curl, "--silent", "--show-error", "--fail-with-body", *arguments],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"{shlex.join(command)}:\n{result.stdout}{result.stderr}"
