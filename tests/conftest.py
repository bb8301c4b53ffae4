"""Fixtures: every test gets its own CITYBASE_HOME and database, on SQLite or on a throwaway
PostgreSQL cluster (CITYBASE_TEST_DB=postgres). Databases are cloned from a migrated template."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pgcluster import PgCluster

BACKEND = os.environ.get("CITYBASE_TEST_DB", "sqlite")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
_counter = itertools.count()


def _activate(home: Path, db_url: str | None) -> None:
    from citybase.config import reset_settings
    from citybase.db import dispose_engines

    dispose_engines()
    os.environ["CITYBASE_HOME"] = str(home)
    if db_url:
        os.environ["CITYBASE_DATABASE_URL"] = db_url
    else:
        os.environ.pop("CITYBASE_DATABASE_URL", None)
    os.environ["CITYBASE_ADMIN_PASSWORD"] = "citybase2026"
    reset_settings()


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster | None]:
    if BACKEND != "postgres":
        yield None
        return
    cluster = PgCluster().start()
    try:
        yield cluster
    finally:
        from citybase.db import dispose_engines

        dispose_engines()
        cluster.stop()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, pg: PgCluster | None) -> dict[str, Path]:
    """Two prepared homes: 'empty' (migrated) and 'city' (init + demo accounts)."""
    from citybase.cli import run_init
    from citybase.db import dispose_engines, migrate
    from citybase.demo.loader import load_demo

    out = {}
    for name in ("empty", "city"):
        home = tmp_path_factory.mktemp(f"tpl-{name}")
        url = None
        if pg is not None:
            pg.admin(f"CREATE DATABASE tpl_{name}")
            url = pg.url(f"tpl_{name}")
        _activate(home, url)
        if name == "empty":
            migrate()
        else:
            run_init(admin_password="citybase2026", quiet=True)
            load_demo(with_modules=False)
        dispose_engines()
        out[name] = home
    return out


def _clone(kind: str, templates: dict[str, Path], pg: PgCluster | None, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(templates[kind], home)
    url = None
    if pg is not None:
        from citybase.db import dispose_engines

        dispose_engines()
        name = f"t{os.getpid()}_{next(_counter)}"
        pg.admin(f"CREATE DATABASE {name} TEMPLATE tpl_{kind}")
        url = pg.url(name)
    _activate(home, url)
    return home


@pytest.fixture
def db_home(templates, pg, tmp_path) -> Path:
    """A migrated, empty database."""
    return _clone("empty", templates, pg, tmp_path)


@pytest.fixture
def city(templates, pg, tmp_path) -> Path:
    """Wuxi reference organisations, the admin and the demo accounts (password citybase2026)."""
    return _clone("city", templates, pg, tmp_path)


@pytest.fixture
def client(city):
    from fastapi.testclient import TestClient

    from citybase.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


def login(client, username: str, password: str = "citybase2026"):
    """Log a TestClient in through the real form (with its CSRF token)."""
    import re

    page = client.get("/login", headers={"accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def csrf_of(client, path: str = "/") -> str:
    import re

    page = client.get(path, headers={"accept": "text/html"})
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app() -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1, in a thread, over the current CITYBASE_HOME."""
    import uvicorn

    from citybase.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(city) -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1, in a thread."""
    with serve_app() as url:
        yield url


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    exe = os.environ.get("CITYBASE_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    pg_ = context.new_page()
    yield pg_
    context.close()


@pytest.fixture
def phone(browser, request):
    """A 390 × 844 phone screen (touch, mobile viewport)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    pg_ = context.new_page()
    yield pg_
    context.close()


def no_horizontal_scroll(page) -> None:
    """The page fits the screen's width: nothing sticks out sideways."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, (page.url, width, inner)


def browser_login(page, base: str, username: str, password: str = "citybase2026") -> None:
    """Sign in through the login form in the browser and wait until the next page has settled."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shot(page, name: str) -> Path:
    """Save a screenshot under test-artifacts/ so people can look at what the tests drove."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}-{BACKEND}.png"
    if page.locator("[_echarts_instance_]").count():
        page.wait_for_timeout(1200)  # ECharts animates for 1 s: capture the drawn chart, not a frame of it
    page.screenshot(path=str(path), full_page=True)
    return path
