"""What a new engineer relies on besides the code: the dependencies and their lock files, the
Makefile, the image, and the compose file that runs production, checked against each other,
the settings model and the CLI (Docker itself is not run here)."""

from __future__ import annotations

import ast
import configparser
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sqlalchemy.engine import make_url

from gateway.cli import build_parser
from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
PROJECT = "newsdigest-gateway"
RUNTIME_PACKAGES = ("gateway", "shared", "async_api", "legacy_flask")
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
# Runtime dependencies that no module imports by name, and who loads them.
LOADED_BY_NAME = {
    "aiosqlite": "SQLAlchemy, for sqlite+aiosqlite:// URLs",
    "asyncpg": "SQLAlchemy, for postgresql+asyncpg:// URLs",
    "psycopg": "procrastinate's PsycopgConnector (the binary extra brings libpq)",
    "uvloop": "uvicorn's loop='auto'",
    "httptools": "uvicorn's http='auto'",
    "tzdata": "zoneinfo, where the system has no zone files",
}
# Variables the app services get that are not Settings fields, and who reads them.
NOT_SETTINGS = {"FORWARDED_ALLOW_IPS": "uvicorn: whose X-Forwarded-For to believe"}
APP_IMAGE = "newsdigest-gateway"
# What `docker compose up` is given: compose refuses to start without either.
DEPLOY_ENV = {
    "POSTGRES_PASSWORD": "f3a9c1d27b5e4a6c8d0e",
    "ADMIN_TOKEN": "a" * 8 + "b" * 8 + "c" * 8,
}


# -- the files, parsed --------------------------------------------------------------------------


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirements(extra: str | None = None) -> list[Requirement]:
    """The project's requirements, or one extra's with the extras it names included."""
    project = pyproject()["project"]
    listed = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    found: list[Requirement] = []
    for line in listed:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) == PROJECT:
            for named in sorted(requirement.extras):
                found += requirements(named)
        else:
            found.append(requirement)
    return found


def pins(lock: Path) -> dict[str, tuple[str, str]]:
    """name -> (version, the raw entry) of each lock line that applies to this interpreter."""
    found = {}
    for entry in lock.read_text().replace("\\\n", " ").splitlines():
        entry = entry.strip()
        if not entry or entry.startswith(("#", "-")):
            continue
        requirement = Requirement(entry.split(" --hash")[0])
        if requirement.marker is None or requirement.marker.evaluate():
            (version,) = [spec.version for spec in requirement.specifier if spec.operator == "=="]
            found[canonicalize_name(requirement.name)] = (version, entry)
    return found


# Calls that load a package named by a string: importlib's import_module, and the package
# data of importlib.resources' files().
LOADS_BY_STRING = {"import_module", "files"}


def imported_modules(*folders: str) -> set[str]:
    """Top-level names of absolute imports (and packages loaded by name) under `folders`."""
    names = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
                elif isinstance(node, ast.Call) and (loaded := _name_loaded_by(node)):
                    names.add(loaded.split(".")[0])
    return names


def _name_loaded_by(call: ast.Call) -> str | None:
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    if name in LOADS_BY_STRING and len(call.args) == 1:
        argument = call.args[0]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            return argument.value
    return None


def third_party(modules: set[str]) -> set[str]:
    local = {"gateway", "shared", "async_api", "legacy_flask", "bench", "tests", "__future__"}
    return {m for m in modules if m not in sys.stdlib_module_names and m not in local}


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services() -> dict[str, Any]:
    return compose()["services"]


def app_services() -> dict[str, Any]:
    return {name: s for name, s in services().items() if s.get("image") == APP_IMAGE}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: $VAR, ${VAR}, ${VAR:-default}, ${VAR:?error}, $$."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        operator, argument = match.group("operator"), match.group("argument") or ""
        value = env.get(name)
        if operator in (":?", "?") and (value is None or (operator == ":?" and not value)):
            raise LookupError(f"{name}: {argument}")
        if operator in (":-", "-") and (value is None or (operator == ":-" and not value)):
            return argument
        return value or ""

    pattern = (
        r"\$\$|\$\{(?P<braced>\w+)(?:(?P<operator>:?[-?])(?P<argument>[^}]*))?\}|\$(?P<bare>\w+)"
    )
    return re.sub(pattern, substitute, value)


def container_env(service: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """A service's environment as its container gets it (a bare name passes the host's on)."""
    found = {}
    for name, value in service.get("environment", {}).items():
        if value is None:
            if name in env:
                found[name] = env[name]
        else:
            found[name] = interpolate(str(value), env)
    return found


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def exec_form(argument: str) -> list[str]:
    return yaml.safe_load(argument) if argument.startswith("[") else shlex.split(argument)


def image_command() -> list[str]:
    (cmd,) = [arg for kind, arg in dockerfile_instructions(ROOT / "Dockerfile") if kind == "CMD"]
    return exec_form(cmd)


def served_port(argv: list[str]) -> int:
    assert argv[:4] == ["python", "-m", "gateway", "serve"], argv
    return build_parser().parse_args(argv[3:]).port


@cache
def pgbouncer_ini() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini")
    return parser


def pgbouncer_database(parser: configparser.ConfigParser) -> tuple[str, dict[str, str]]:
    ((alias, target),) = parser.items("databases")
    return alias, dict(pair.split("=", 1) for pair in target.split())


def haproxy_backend() -> tuple[int, list[tuple[str, str, int]], str]:
    """The published bind port, the (name, host, port) servers, and the health check line."""
    text = (ROOT / "deploy" / "haproxy.cfg").read_text()
    (bind,) = re.findall(r"^\s*bind\s+\S*:(\d+)\s*$", text, flags=re.MULTILINE)
    servers = re.findall(r"^\s*server\s+(\S+)\s+([\w.-]+):(\d+)", text, flags=re.MULTILINE)
    (check,) = re.findall(r"^\s*option httpchk (.+)$", text, flags=re.MULTILINE)
    return int(bind), [(name, host, int(port)) for name, host, port in servers], check.strip()


# -- dependencies and their locks -----------------------------------------------------------------


def test_every_runtime_dependency_is_imported_or_loaded_by_name() -> None:
    imported = imported_modules(*RUNTIME_PACKAGES)
    provides: dict[str, set[str]] = {}
    for module, distributions in packages_distributions().items():
        for distribution in distributions:
            provides.setdefault(canonicalize_name(distribution), set()).add(module)
    unused = []
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        if name not in LOADED_BY_NAME and not provides.get(name, set()) & imported:
            unused.append(name)
    assert unused == [], f"runtime dependencies nothing imports: {unused}"
    runtime = {canonicalize_name(r.name) for r in requirements()}
    assert set(LOADED_BY_NAME) <= runtime, "LOADED_BY_NAME names a package no longer required"


@pytest.mark.parametrize(
    ("lock", "folders"),
    [(RUNTIME_LOCK, RUNTIME_PACKAGES), (DEV_LOCK, (*RUNTIME_PACKAGES, "tests", "bench"))],
    ids=["runtime", "dev"],
)
def test_every_third_party_import_is_pinned_in_the_lock(
    lock: Path, folders: tuple[str, ...]
) -> None:
    """The image installs runtime.txt only: what the app imports must be in it."""
    pinned = pins(lock)
    installed = packages_distributions()
    missing = {}
    for module in sorted(third_party(imported_modules(*folders))):
        distributions = {canonicalize_name(d) for d in installed.get(module, [])}
        if not distributions & set(pinned):
            missing[module] = sorted(distributions) or "not installed"
    assert missing == {}, f"imported but not pinned in {lock.name}: {missing}"


@pytest.mark.parametrize(
    ("lock", "extras"),
    [(RUNTIME_LOCK, [None]), (DEV_LOCK, [None, "bench", "test", "dev"])],
    ids=["runtime", "dev"],
)
def test_the_locks_pin_every_requirement_with_hashes(lock: Path, extras: list[str | None]) -> None:
    """A requirement added to pyproject.toml without `make lock` fails here."""
    pinned = pins(lock)
    wrong = {}
    for extra in extras:
        for requirement in requirements(extra):
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue
            name = canonicalize_name(requirement.name)
            version = pinned.get(name, ("not pinned", ""))[0]
            if version == "not pinned" or not requirement.specifier.contains(version, True):
                wrong[str(requirement)] = version
    assert wrong == {}, f"{lock.name} is stale, run `make lock`: {wrong}"
    unhashed = [name for name, (_, entry) in pinned.items() if "--hash=sha256:" not in entry]
    assert unhashed == []


def test_the_image_runs_the_versions_the_suite_tested() -> None:
    dev = {name: version for name, (version, _) in pins(DEV_LOCK).items()}
    runtime = {name: version for name, (version, _) in pins(RUNTIME_LOCK).items()}
    assert {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v} == {}


# -- the Makefile ----------------------------------------------------------------------------------


def make(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # A HOST or PORT of the caller's environment would win over the Makefile's defaults.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HOST", "PORT", "UPGRADE", "UPGRADE_PACKAGE")
    }
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def installed_venv() -> Iterator[str]:
    """A venv directory whose install stamp is newer than the lock and pyproject.toml."""
    with tempfile.TemporaryDirectory() as venv:
        stamp = Path(venv) / ".installed-stamp"
        stamp.touch()
        newest = max(p.stat().st_mtime for p in (DEV_LOCK, ROOT / "pyproject.toml"))
        os.utime(stamp, (newest + 60, newest + 60))
        yield venv


def test_make_installs_from_the_lock_and_again_when_it_changes(installed_venv: str) -> None:
    assert "Nothing to be done" in make("install", f"VENV={installed_venv}")
    reinstall = make("-W", "requirements/dev.txt", "install", f"VENV={installed_venv}")
    assert re.search(r"pip .*install --quiet -r requirements/dev\.txt$", reinstall, re.MULTILINE)
    assert re.search(r"pip .*install --quiet --no-deps -e \.$", reinstall, re.MULTILINE)


def test_make_run_serves_on_the_host_and_port_given(installed_venv: str) -> None:
    default = make("run", f"VENV={installed_venv}").strip()
    assert default.endswith("-m gateway serve --host 127.0.0.1 --port 8000")
    chosen = make("run", "PORT=8080", "HOST=0.0.0.0", f"VENV={installed_venv}").strip()
    argv = shlex.split(chosen)
    assert argv[1:4] == ["-m", "gateway", "serve"]
    parsed = build_parser().parse_args(argv[3:])
    assert (parsed.host, parsed.port) == ("0.0.0.0", 8080)


def test_make_lock_compiles_both_locks_with_uv(installed_venv: str) -> None:
    commands = make("lock", f"VENV={installed_venv}")
    assert re.search(
        r"uv pip compile .*--generate-hashes .*--extra dev -o requirements/dev\.txt", commands
    )
    assert re.search(r"-c requirements/dev\.txt -o requirements/runtime\.txt", commands)


def test_make_test_installs_pgbouncer_as_it_does_chromium(installed_venv: str) -> None:
    commands = make("test", f"VENV={installed_venv}")
    assert "sh scripts/install-pgbouncer.sh" in commands
    assert (ROOT / "scripts" / "install-pgbouncer.sh").is_file()


# -- the image -------------------------------------------------------------------------------------


def test_the_image_installs_the_runtime_lock_then_the_project_without_resolving() -> None:
    instructions = dockerfile_instructions(ROOT / "Dockerfile")
    runs = [arg for kind, arg in instructions if kind == "RUN"]
    assert any(re.search(r"pip install .*-r requirements/runtime\.txt", r) for r in runs)
    assert any(re.search(r"pip install --no-deps \.", r) for r in runs)
    lock_step = next(
        i for i, (k, a) in enumerate(instructions) if "runtime.txt" in a and k == "RUN"
    )
    first_code = next(i for i, (k, a) in enumerate(instructions) if k == "COPY" and "gateway" in a)
    assert lock_step < first_code, "the pinned layer should not be rebuilt for a code change"


def test_the_image_copies_what_exists_and_runs_as_a_user_that_is_not_root() -> None:
    instructions = dockerfile_instructions(ROOT / "Dockerfile")
    for kind, argument in instructions:
        if kind == "COPY":
            for name in argument.split()[:-1]:
                if not name.startswith("--"):
                    assert (ROOT / name).exists(), name
    users = [(i, arg) for i, (kind, arg) in enumerate(instructions) if kind == "USER"]
    assert users, "no USER: the gateway would run as root"
    last_user, user = users[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert all(kind not in ("RUN", "USER") for kind, _ in instructions[last_user + 1 :])
    exposed = [int(arg.split("/")[0]) for kind, arg in instructions if kind == "EXPOSE"]
    assert exposed == [served_port(image_command())]


# -- compose ---------------------------------------------------------------------------------------


def test_compose_runs_production_behind_one_published_port() -> None:
    expected = {"postgres", "pgbouncer", "redis", "migrate", "loadbalancer", "worker"}
    assert expected <= set(services())
    gateways = {n for n, s in app_services().items() if "command" not in s}
    assert len(gateways) == 2, gateways
    published = {name for name, s in services().items() if s.get("ports")}
    assert published == {"loadbalancer"}
    ((mapping,),) = [services()["loadbalancer"]["ports"]]
    bind, servers, check = haproxy_backend()
    assert interpolate(mapping, {}).split(":")[-1] == str(bind)
    port = served_port(image_command())
    assert {(host, p) for _, host, p in servers} == {(g, port) for g in gateways}
    assert check == "GET /api/health"
    for name in gateways:
        depends = services()[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert services()["loadbalancer"]["depends_on"][name]["condition"] == "service_healthy"


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in services().items():
        if name != "migrate":
            assert service.get("healthcheck", {}).get("test"), name
    port = served_port(image_command())
    for name, service in app_services().items():
        if "command" not in service:  # a gateway replica: readiness, as the balancer sees it
            check = " ".join(service["healthcheck"]["test"])
            assert f"http://127.0.0.1:{port}/api/health" in check, name


def test_every_app_service_runs_a_command_the_cli_has() -> None:
    parser = build_parser()
    commands = {n: s.get("command", image_command()) for n, s in app_services().items()}
    commands = {n: exec_form(c) if isinstance(c, str) else c for n, c in commands.items()}
    for name, argv in commands.items():
        assert argv[:3] == ["python", "-m", "gateway"], name
        parser.parse_args(argv[3:])  # exits (fails the test) on an unknown command or option
    assert commands["worker"][3] == "worker" and commands["migrate"][3] == "migrate"
    for name, service in app_services().items():
        assert service["build"] == "." and (ROOT / "Dockerfile").is_file(), name


def test_compose_variables_are_settings_and_production_accepts_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for field in fields | set(NOT_SETTINGS):
        monkeypatch.delenv(field, raising=False)
    for name, service in app_services().items():
        given = container_env(service, DEPLOY_ENV)
        unknown = set(given) - fields - set(NOT_SETTINGS)
        assert unknown == set(), f"{name}: variables no setting reads: {unknown}"
        with monkeypatch.context() as env:
            for key, value in given.items():
                env.setenv(key, value)
            settings = Settings(_env_file=None)  # production refuses development defaults
        assert settings.environment == "production", name
        assert settings.admin_token == DEPLOY_ENV["ADMIN_TOKEN"]
        assert not settings.load_demo_data


def test_compose_refuses_to_start_without_its_secrets() -> None:
    for service in app_services().values():
        for missing in DEPLOY_ENV:
            env = {k: v for k, v in DEPLOY_ENV.items() if k != missing}
            with pytest.raises(LookupError, match=missing):
                container_env(service, env | {missing: ""})  # set but empty counts as missing
    for name in ("postgres", "pgbouncer"):
        with pytest.raises(LookupError, match="POSTGRES_PASSWORD"):
            container_env(services()[name], {})


def test_the_gateways_reach_postgresql_through_pgbouncer_in_transaction_mode() -> None:
    ini = pgbouncer_ini()
    assert ini["pgbouncer"]["pool_mode"] == "transaction"
    alias, target = pgbouncer_database(ini)
    postgres = container_env(services()["postgres"], DEPLOY_ENV)
    assert target["host"] == "postgres" and target["dbname"] == postgres["POSTGRES_DB"]
    assert target["port"] == "5432"
    listen = int(ini["pgbouncer"]["listen_port"])
    assert services()["pgbouncer"]["expose"] == [str(listen)]
    user = container_env(services()["pgbouncer"], DEPLOY_ENV)["DB_USER"]
    for name, service in app_services().items():
        env = container_env(service, DEPLOY_ENV)
        url = make_url(env["DATABASE_URL"])
        assert url.username == user == postgres["POSTGRES_USER"], name
        assert url.password == DEPLOY_ENV["POSTGRES_PASSWORD"] == postgres["POSTGRES_PASSWORD"]
        assert make_url(env["RATE_LIMIT_STORAGE_URL"]).host == "redis"
        if "command" in service:  # migrations and the worker's LISTEN need a session
            assert (url.host, url.port, url.database) == ("postgres", 5432, target["dbname"])
            assert env["DB_POOLER"] == "none", name
        else:
            assert (url.host, url.port, url.database) == ("pgbouncer", listen, alias)
            assert env["DB_POOLER"] == "transaction", name
    entrypoint = (ROOT / "deploy" / "pgbouncer" / "entrypoint.sh").read_text()
    assert f"PGBOUNCER_USERLIST:-{ini['pgbouncer']['auth_file']}" in entrypoint


# -- the PgBouncer configuration, run --------------------------------------------------------------


def pgbouncer_binary() -> str:
    for candidate in (shutil.which("pgbouncer"), "/usr/sbin/pgbouncer"):
        if candidate and Path(candidate).is_file():
            return candidate
    message = "pgbouncer is not installed (make pgbouncer)"
    if IN_CI:
        pytest.fail(message + ": required under CI=true", pytrace=False)
    pytest.skip(message)


def postgres_port() -> int:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return 5432
    except OSError:
        message = "PostgreSQL does not answer at 127.0.0.1:5432"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)", pytrace=False)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def deployed_pgbouncer() -> Iterator[tuple[int, str]]:
    """deploy/pgbouncer as the image runs it (its entrypoint, its ini), in front of the local
    PostgreSQL: only the addresses and the userlist's place change."""
    binary, backend = pgbouncer_binary(), postgres_port()
    ini, port, password = pgbouncer_ini(), free_port(), "s3cret-for-this-test"
    # Not pytest's tmp_path: the postgres user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="deployed-pgbouncer-"))
    config = configparser.ConfigParser(interpolation=None)
    config.read_dict({section: dict(ini[section]) for section in ini.sections()})
    config.remove_option("databases", pgbouncer_database(ini)[0])
    config["databases"]["test"] = f"host=127.0.0.1 port={backend} dbname=test"
    config["pgbouncer"].update(
        listen_addr="127.0.0.1", listen_port=str(port), auth_file=str(root / "userlist.txt")
    )
    with open(root / "pgbouncer.ini", "w") as file:
        config.write(file)
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:  # pgbouncer refuses root; the image runs it as postgres too
        shutil.chown(root, "postgres")
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
    entrypoint = ["sh", str(ROOT / "deploy" / "pgbouncer" / "entrypoint.sh")]
    env = dict(os.environ, DB_USER="postgres", DB_PASSWORD=password)
    env["PGBOUNCER_USERLIST"] = str(root / "userlist.txt")
    log = open(root / "output.log", "wb")  # closed below, once the process has exited
    process = subprocess.Popen(
        [*entrypoint, binary, str(root / "pgbouncer.ini")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        **as_user,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = (root / "output.log").read_text()[-2000:]
                    pytest.fail(f"pgbouncer did not start: {output}")
                time.sleep(0.05)
        yield port, password
    finally:
        process.send_signal(signal.SIGINT)  # every client has left: it stops at once
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def test_the_deployed_pgbouncer_config_shares_server_connections_per_transaction(
    deployed_pgbouncer: tuple[int, str],
) -> None:
    port, password = deployed_pgbouncer
    url = f"postgresql://postgres:{password}@127.0.0.1:{port}/test"
    with (
        psycopg.connect(url, autocommit=True) as first,
        psycopg.connect(url, autocommit=True) as second,
    ):
        server = first.execute("SELECT pg_backend_pid()").fetchone()
        # Session pooling would give the second client a server connection of its own.
        assert second.execute("SELECT pg_backend_pid()").fetchone() == server
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        psycopg.connect(f"postgresql://postgres:wrong@127.0.0.1:{port}/test").close()
