"""`citybase serve --workers N`: each worker has its own SO_REUSEPORT socket, so keep-alive
connections are spread over the workers; a dead worker is replaced; SIGTERM stops them all; a
port already taken is a clear error, not a crash loop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from tests.conftest import _free_port


def _serve(port: int, workers: int, capture: bool = False) -> subprocess.Popen:
    # output is only piped when the test reads it: an unread pipe could fill and stall the server
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "citybase.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)], env=dict(os.environ), stdout=out,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    """The live web workers (not the resource tracker, not a dead one not yet reaped)."""
    found = []
    for c in psutil.Process(proc.pid).children():
        try:
            if c.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(c.cmdline()):
                found.append(c)
        except psutil.Error:
            continue
    return found


def _wait_until(cond, seconds: float = 60) -> None:  # noqa: ANN001 - a test helper
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def served(city):
    port = _free_port()
    proc = _serve(port, 2)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: len(_workers(proc)) == 2 and _healthy(base))
        yield proc, port, base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _listening_sockets(worker: psutil.Process, port: int) -> set[str]:
    return {os.readlink(f"/proc/{worker.pid}/fd/{c.fd}") for c in worker.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port}


def test_each_worker_listens_on_its_own_socket_and_serves_connections(served):
    proc, port, base = served
    _wait_until(lambda: all(_listening_sockets(w, port) for w in _workers(proc)))
    sockets = [_listening_sockets(w, port) for w in _workers(proc)]
    # uvicorn's --workers hands every worker the same socket (one inode); here each has its own,
    # and the kernel spreads new connections over them instead of the first worker to wake taking a burst
    assert all(len(s) == 1 for s in sockets) and len(set().union(*sockets)) == 2
    clients = [httpx.Client(base_url=base, timeout=5) for _ in range(32)]
    try:
        for c in clients:  # one long-lived connection each, as a proxy or a sensor gateway keeps
            assert c.get("/healthz").status_code == 200
        per_worker = [sum(1 for c in w.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED
                          and c.laddr.port == port) for w in _workers(proc)]
    finally:
        for c in clients:
            c.close()
    assert sum(per_worker) == 32 and min(per_worker) > 0, per_worker


def test_a_dead_worker_is_replaced_and_sigterm_stops_everything(served):
    proc, _port, base = served
    first = _workers(proc)
    first[0].kill()  # kill -9 one worker
    _wait_until(lambda: len(_workers(proc)) == 2 and first[0].pid not in {w.pid for w in _workers(proc)})
    _wait_until(lambda: _healthy(base))
    survivors = _workers(proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) == 0
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in survivors)
    assert not _healthy(base)


def test_a_port_already_taken_is_a_clear_error(city):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        proc = _serve(taken.getsockname()[1], 2, capture=True)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "无法监听" in out and "Traceback" not in out


def test_a_worker_loads_what_its_first_requests_would_before_serving(city):
    """run_worker calls each module's warm_up hook: the intake classifier (model and word dictionary)
    is in memory before the first request, which otherwise waited ~2 s for it."""
    import jieba

    from citybase.events import classifier
    from citybase.web import server

    classifier._reset_for_tests()
    server._warm_up()
    assert classifier._model is not None and jieba.dt.initialized
