"""The production web server: uvicorn worker processes, each with its own listening socket.

uvicorn's ``--workers`` shares one listening socket among the workers, and whichever worker wakes
first accepts a whole burst of connections. Behind a reverse proxy or a sensor gateway (a few
long-lived keep-alive connections) that left one worker serving everything while the other idled:
92 % against 0.3 % CPU under the intake benchmark. Here every worker binds the same port with
``SO_REUSEPORT`` and the kernel spreads new connections evenly across the workers' sockets.

The supervisor holds the port (a bound socket that never listens, so it receives no connections),
restarts a worker that dies, stops when workers keep dying at once, and on SIGTERM/SIGINT asks every
worker to finish its requests and exit.

Each worker also moves everything alive after start-up (modules, the app, its routes and models)
out of the cyclic garbage collector's reach (``gc.freeze``): a full collection otherwise walked
those hundreds of thousands of objects every few seconds and stalled every request in the worker
for ~200 ms, which was the whole p99 of intake. And it collects less often (see _settle_heap)."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from citybase import hooks

log = logging.getLogger(__name__)
APP = "citybase.app:create_app"
RESTARTS_BEFORE_GIVING_UP = 5  # deaths within RESTART_WINDOW seconds
RESTART_WINDOW = 30.0


class PortInUse(RuntimeError):
    pass


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"无法监听 {host}:{port}：{exc.strerror}") from exc
    return sock


def _warm_up() -> None:
    """Every module's ``warm_up`` hook: what its first request would load (the intake classifier with
    its dictionary, district boundaries) is loaded before the worker serves, instead of making the
    first requests wait ~2 s, and ends up in the heap the collector no longer walks."""
    hooks.relay().warm_up()


def _settle_heap() -> None:
    gc.collect()
    gc.freeze()
    # the youngest generation is collected every 10,000 new container objects instead of 700: an
    # intake batch allocates tens of thousands (ORM rows, pydantic models), and the default had
    # the collector run ~50 times a second, with pauses up to 89 ms. p99 of intake: 126 → 77 ms.
    gc.set_threshold(10_000, 10, 10)


def run_worker(host: str, port: int, log_level: str = "warning") -> None:
    """One worker process: its own SO_REUSEPORT socket and a uvicorn server on it."""
    import uvicorn

    sock = _socket(host, port)
    sock.listen(2048)
    config = uvicorn.Config(APP, factory=True, log_level=log_level, access_log=False)
    server = uvicorn.Server(config)
    config.load()  # build the app now, so that it is part of what the collector no longer walks
    _warm_up()
    _settle_heap()
    server.run(sockets=[sock])


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, log_level: str = "warning") -> int:
    """Run the web server until SIGTERM/SIGINT; the exit code. One worker runs in this process."""
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        if workers > 1:
            log.warning("SO_REUSEPORT is not available here: serving with one process")
        run_worker(host, port, log_level)
        return 0
    holder = _socket(host, port)  # reserves the port for the workers (same user, SO_REUSEPORT)
    ctx = multiprocessing.get_context("spawn")
    procs: list[BaseProcess] = []
    stopping = False

    def start() -> BaseProcess:
        p = ctx.Process(target=run_worker, args=(host, port, log_level), name="citybase-web")
        p.start()
        return p

    def stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    deaths: list[float] = []
    code = 0
    try:
        procs = [start() for _ in range(workers)]
        while not stopping:
            time.sleep(0.2)
            for i, p in enumerate(procs):
                if p.is_alive() or stopping:
                    continue
                now = time.monotonic()
                deaths = [t for t in deaths if now - t < RESTART_WINDOW] + [now]
                if len(deaths) > RESTARTS_BEFORE_GIVING_UP:
                    print(f"Web 进程反复退出（{RESTART_WINDOW:.0f} 秒内 {len(deaths)} 次），服务停止", file=sys.stderr)
                    stopping, code = True, 1
                    break
                log.warning("web worker %s exited with %s; starting a new one", p.pid, p.exitcode)
                procs[i] = start()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
        holder.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return code
