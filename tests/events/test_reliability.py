"""kill -9 the server during sustained intake: every order that got a 2xx is there with its timeline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx

from tests.conftest import _free_port
from tests.events.conftest import point_in


def test_kill_9_during_intake_loses_no_acknowledged_order(ev):
    from sqlalchemy import func, select

    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import dispose_engines, make_session, session_scope
    from citybase.events.models import OrderEvent, WorkOrder

    with session_scope() as s:
        _, token = identity.create_token(s, SYSTEM, "operator")
    dispose_engines()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "citybase.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "2"], env=dict(os.environ), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        lon, lat = point_in()
        acked: list[str] = []
        stop = threading.Event()

        def pump(k: int) -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=5) as c:
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        r = c.post("/api/events/orders", json={"description": "积水报警", "type_code": "TROAD",
                                                               "lon": lon, "lat": lat, "channel": "sensor",
                                                               "external_id": f"alarm:{k}-{i}"})
                    except httpx.HTTPError:
                        return  # the server died mid-request: not acknowledged
                    if 200 <= r.status_code < 300:
                        acked.append(r.json()["number"])

        threads = [threading.Thread(target=pump, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        deadline = time.time() + 20
        while len(acked) < 40 and time.time() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the server and its workers mid-stream
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert len(acked) >= 40
    dispose_engines()
    with make_session() as s:
        have = dict(s.execute(select(WorkOrder.number, WorkOrder.id).where(WorkOrder.number.in_(acked))).all())
        assert set(have) == set(acked)
        counts = dict(s.execute(select(OrderEvent.order_id, func.count()).where(
            OrderEvent.order_id.in_(list(have.values()))).group_by(OrderEvent.order_id)).all())
    assert all(counts.get(i, 0) >= 3 for i in have.values())  # intake, triage, dispatch
