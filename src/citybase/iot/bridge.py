"""The MQTT bridge (`citybase iot bridge`).

Why the bridge terminates device connections itself: devices built for ThingsBoard publish to the
shared topic ``v1/devices/me/telemetry`` and identify themselves only by their credentials (the
access token as MQTT username, or username + password). A stock broker such as Mosquitto cannot
tell a subscriber who published a message (its ``mount_point`` is static, ACL patterns only filter),
so a subscriber-side bridge could not attribute readings to devices without trusting the topic.
The bridge therefore speaks MQTT 3.1.1 to the devices (CONNECT/CONNACK, PUBLISH QoS 0/1, PUBACK,
SUBSCRIBE/SUBACK, PINGREQ, DISCONNECT), authenticates each connection against the device
registry, and acknowledges a QoS 1 PUBLISH only after the reading is committed to the database
(group commit: one transaction per batch). Between sockets and the database sits one bounded
queue: when it is full the bridge stops reading from sockets (TCP back-pressure), nothing grows
without bound. A crash loses only unacknowledged messages, which the devices resend; duplicates of
(device, quantity, ts) are ignored, so nothing is stored twice.

The bridge is also a client of the site's MQTT broker (Mosquitto): every committed batch is
published, normalised and attributed, to ``citybase/telemetry/<device code>`` (QoS 1) for
downstream consumers; paho-mqtt reconnects by itself when the broker restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from citybase.core.errors import CitybaseError

log = logging.getLogger("citybase.iot.bridge")

TELEMETRY_TOPIC = "v1/devices/me/telemetry"
ATTRIBUTES_TOPIC = "v1/devices/me/attributes"
FANOUT_PREFIX = "citybase/telemetry/"
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14
MAX_PACKET = 1024 * 1024


class ProtocolError(Exception):
    pass


@dataclass(slots=True, eq=False)
class Conn:
    writer: asyncio.StreamWriter
    auth: Any = None
    client_id: str = ""
    closed: bool = False
    out: bytearray = field(default_factory=bytearray)


@dataclass(slots=True)
class Item:
    conn: Conn
    topic: str
    payload: bytes
    pid: int | None  # None for QoS 0


@dataclass
class Stats:
    received: int = 0
    stored: int = 0
    acked: int = 0
    rejected: int = 0
    batches: int = 0
    connections: int = 0
    fanout: int = 0


def _encode_len(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def _str(buf: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("!H", buf, pos)
    return buf[pos + 2:pos + 2 + n].decode("utf-8"), pos + 2 + n


def _bytes(buf: bytes, pos: int) -> tuple[bytes, int]:
    (n,) = struct.unpack_from("!H", buf, pos)
    return buf[pos + 2:pos + 2 + n], pos + 2 + n


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    first = await reader.readexactly(1)
    mult, length = 1, 0
    for _ in range(4):
        b = (await reader.readexactly(1))[0]
        length += (b & 0x7F) * mult
        if not b & 0x80:
            break
        mult *= 128
    else:
        raise ProtocolError("malformed remaining length")
    if length > MAX_PACKET:
        raise ProtocolError("packet too large")
    body = await reader.readexactly(length) if length else b""
    return first[0] >> 4, first[0] & 0x0F, body


class Fanout:
    """Publishes committed readings to the site broker; reconnects by itself (paho-mqtt)."""

    def __init__(self, host: str, port: int, client_id: str = "citybase-bridge") -> None:
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        self.client.max_queued_messages_set(20000)  # bounded: the durable copy is in the database
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p=None: self.connected.set() if not rc.is_failure else None
        self.client.on_disconnect = lambda c, u, f, rc, p=None: self.connected.clear()
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    def publish(self, code: str, payload: bytes) -> bool:
        info = self.client.publish(FANOUT_PREFIX + code, payload, qos=1)
        return info.rc == 0

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Bridge:
    def __init__(self, host: str = "0.0.0.0", port: int = 1884, *, broker: tuple[str, int] | None = None,
                 batch_max: int = 2000, queue_max: int = 20000, linger_s: float = 0.004) -> None:
        self.host, self.port = host, port
        self.broker = broker
        self.batch_max, self.queue_max, self.linger_s = batch_max, queue_max, linger_s
        self.stats = Stats()
        self.clients: dict[str, Conn] = {}
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="iot-bridge")
        self.fanout: Fanout | None = None
        self.server: asyncio.base_events.Server | None = None
        self.queue: asyncio.Queue[Item] | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.queue_max)
        if self.broker is not None:
            self.fanout = Fanout(*self.broker)
        self.server = await asyncio.start_server(self._handle, self.host, self.port, limit=MAX_PACKET + 16)
        self._writer_task = asyncio.create_task(self._writer_loop())
        log.info("MQTT bridge listening on %s:%s", self.host, self.port)

    async def serve_forever(self) -> None:
        await self.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await self.stop()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        # let the writer flush what is queued (those messages are not yet acknowledged)
        if self.queue is not None:
            for _ in range(200):
                if self.queue.empty():
                    break
                await asyncio.sleep(0.01)
        self._writer_task.cancel()
        for c in list(self.clients.values()):
            c.writer.close()
        if self.fanout is not None:
            self.fanout.stop()
        self.executor.shutdown(wait=False)

    # ------------------------------------------------------------ connections

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(writer)
        try:
            ptype, _flags, body = await asyncio.wait_for(read_packet(reader), timeout=10)
            if ptype != CONNECT:
                raise ProtocolError("first packet must be CONNECT")
            keepalive = await self._connect(conn, body)
            if conn.auth is None:
                return
            self.stats.connections += 1
            timeout = keepalive * 1.5 if keepalive else None
            q = self.queue
            buf = bytearray()
            while True:
                # read whatever arrived and handle every complete packet in it (few awaits per message)
                data = await asyncio.wait_for(reader.read(65536), timeout=timeout)
                if not data:
                    return
                buf += data
                pos, end = 0, len(buf)
                while end - pos >= 2:
                    first = buf[pos]
                    mult, length, i = 1, 0, pos + 1
                    while True:
                        if i >= end:
                            length = -1
                            break
                        b = buf[i]
                        length += (b & 0x7F) * mult
                        i += 1
                        if not b & 0x80:
                            break
                        mult *= 128
                        if mult > 128 ** 3:
                            raise ProtocolError("malformed remaining length")
                    if length < 0 or i + length > end:
                        if length > MAX_PACKET:
                            raise ProtocolError("packet too large")
                        break
                    body = bytes(buf[i:i + length])
                    pos = i + length
                    ptype, flags = first >> 4, first & 0x0F
                    if ptype == PUBLISH:
                        qos = (flags >> 1) & 0x03
                        (tlen,) = struct.unpack_from("!H", body, 0)
                        topic = body[2:2 + tlen].decode("utf-8")
                        off = 2 + tlen
                        pid = None
                        if qos == 1:
                            (pid,) = struct.unpack_from("!H", body, off)
                            off += 2
                        elif qos == 2:
                            raise ProtocolError("QoS 2 not supported")
                        self.stats.received += 1
                        item = Item(conn, topic, body[off:], pid)
                        if q.full():
                            await q.put(item)  # back-pressure: this connection waits, nothing grows
                        else:
                            q.put_nowait(item)
                    elif ptype == PINGREQ:
                        writer.write(b"\xd0\x00")
                    elif ptype == SUBSCRIBE:
                        (pid,) = struct.unpack_from("!H", body, 0)
                        spos, granted = 2, bytearray()
                        while spos < len(body):
                            topic, spos = _str(body, spos)
                            req = body[spos]
                            spos += 1
                            granted.append(min(req, 1) if topic.startswith("v1/devices/me/") else 0x80)
                        payload = struct.pack("!H", pid) + bytes(granted)
                        writer.write(bytes([SUBACK << 4]) + _encode_len(len(payload)) + payload)
                    elif ptype == UNSUBSCRIBE:
                        (pid,) = struct.unpack_from("!H", body, 0)
                        writer.write(b"\xb0\x02" + struct.pack("!H", pid))
                    elif ptype == DISCONNECT:
                        return
                    elif ptype == PUBACK:
                        continue
                    else:
                        raise ProtocolError(f"unsupported packet type {ptype}")
                del buf[:pos]
                if len(buf) > MAX_PACKET + 8:
                    raise ProtocolError("packet too large")
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        except (ProtocolError, struct.error, UnicodeDecodeError, IndexError) as exc:
            log.info("closing MQTT connection: %s", exc)
        finally:
            conn.closed = True
            if conn.client_id and self.clients.get(conn.client_id) is conn:
                del self.clients[conn.client_id]
            writer.close()

    async def _connect(self, conn: Conn, body: bytes) -> int:
        name, pos = _str(body, 0)
        level = body[pos]
        flags = body[pos + 1]
        (keepalive,) = struct.unpack_from("!H", body, pos + 2)
        pos += 4
        if name not in ("MQTT", "MQIsdp") or level not in (3, 4):
            conn.writer.write(b"\x20\x02\x00\x01")  # unacceptable protocol version
            return 0
        client_id, pos = _str(body, pos)
        if flags & 0x04:  # will topic + message
            _, pos = _str(body, pos)
            _, pos = _bytes(body, pos)
        username = password = None
        if flags & 0x80:
            username, pos = _str(body, pos)
        if flags & 0x40:
            raw, pos = _bytes(body, pos)
            password = raw.decode("utf-8", "replace")
        loop = asyncio.get_running_loop()
        try:
            conn.auth = await loop.run_in_executor(self.executor, _authenticate, username, password)
        except CitybaseError as exc:
            log.info("MQTT CONNECT refused (%s) from client %r", exc.code, client_id)
            conn.writer.write(b"\x20\x02\x00\x04")  # bad user name or password
            await conn.writer.drain()
            return 0
        conn.client_id = client_id or f"anon-{id(conn)}"
        old = self.clients.get(conn.client_id)
        if old is not None and old is not conn:
            old.closed = True
            old.writer.close()
        self.clients[conn.client_id] = conn
        conn.writer.write(b"\x20\x02\x00\x00")
        return keepalive

    # ------------------------------------------------------------ group commit

    async def _writer_loop(self) -> None:
        loop = asyncio.get_running_loop()
        q = self.queue
        assert q is not None
        while True:
            items = [await q.get()]
            deadline = time.monotonic() + self.linger_s
            while len(items) < self.batch_max:
                try:
                    items.append(q.get_nowait())
                except asyncio.QueueEmpty:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or len(items) >= self.batch_max:
                        break
                    await asyncio.sleep(min(remaining, 0.001))
            delay = 0.2
            while True:
                try:
                    verdicts, fan = await loop.run_in_executor(self.executor, _store, items, self.fanout is not None)
                    break
                except Exception as exc:  # noqa: BLE001 - database down: keep the batch, retry, ack nothing
                    log.warning("storing MQTT batch failed (%s); retrying", exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            self.stats.batches += 1
            touched: dict[int, Conn] = {}
            for item, verdict in zip(items, verdicts, strict=True):
                conn = item.conn
                if verdict == "limited":  # flood: drop the connection, do not acknowledge
                    if not conn.closed:
                        conn.closed = True
                        conn.writer.close()
                    continue
                if verdict == "stored":
                    self.stats.stored += 1
                else:
                    self.stats.rejected += 1
                if item.pid is not None and not conn.closed:
                    conn.out += b"\x40\x02" + item.pid.to_bytes(2, "big")
                    touched[id(conn)] = conn
                    self.stats.acked += 1
            for conn in touched.values():
                if conn.out and not conn.closed:
                    conn.writer.write(bytes(conn.out))
                conn.out.clear()
            if self.fanout is not None and fan:
                for code, payload in fan:
                    if self.fanout.publish(code, payload):
                        self.stats.fanout += 1


def _authenticate(username: str | None, password: str | None) -> Any:
    from citybase.db import make_session
    from citybase.iot import service

    with make_session() as s:
        return service.authenticate_mqtt(s, username, password)


def _store(items: list[Item], fanout: bool = False) -> tuple[list[str], list[tuple[str, bytes]]]:
    """Parse, rate-limit and store a batch in one transaction. Verdict per item."""
    from citybase.core.errors import BadInput, TooLarge
    from citybase.db import session_scope
    from citybase.iot import service

    verdicts: list[str] = []
    work: list[tuple[Any, list]] = []
    attrs: list[tuple[int, Any]] = []
    lim = service.limiter()
    for item in items:
        auth = item.conn.auth
        if not lim.allow(auth.id):
            verdicts.append("limited")
            continue
        try:
            payload = json.loads(item.payload)
            if item.topic == TELEMETRY_TOPIC:
                work.append((auth, service.thingsboard_records(payload)))
                verdicts.append("stored")
            elif item.topic == ATTRIBUTES_TOPIC:
                attrs.append((auth.id, payload))
                verdicts.append("stored")
            else:
                verdicts.append("ignored")
        except (ValueError, BadInput, TooLarge):
            verdicts.append("rejected")
    fan: list[tuple[str, bytes]] = []
    with session_scope() as s:
        results = service.ingest_many(s, work) if work else []
        for dev, values in attrs:
            try:
                with s.begin_nested():
                    service.report_attributes(s, dev, values)
            except BadInput:
                pass
    # telemetry items whose every reading was rejected are reported as rejected (still acknowledged)
    it = iter(results)
    w = iter(work)
    for i, v in enumerate(verdicts):
        if v == "stored" and items[i].topic == TELEMETRY_TOPIC:
            res = next(it)
            auth, records = next(w)
            if res.accepted == 0 and res.rejected:
                verdicts[i] = "rejected"
            elif fanout:
                ts = next((r[1] for r in records if r[1] is not None), int(time.time() * 1000))
                fan.append((auth.code, json.dumps({"ts": ts, "values": {r[0]: r[2] for r in records}},
                                                  default=str).encode()))
    return verdicts, fan


def run(host: str, port: int, broker: tuple[str, int] | None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(Bridge(host, port, broker=broker).serve_forever())


class BridgeThread:
    """Run a bridge on its own event loop in a background thread (tests, benchmarks, simulator)."""

    def __init__(self, host: str, port: int, broker: tuple[str, int] | None = None, **kw: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.bridge = Bridge(host, port, broker=broker, **kw)
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="iot-bridge-loop", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.bridge.start())
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> BridgeThread:
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("bridge did not start")
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.bridge.stop(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def main(argv: list[str] | None = None) -> None:
    """``python -m citybase.iot.bridge`` (what ``citybase iot bridge`` runs, with fewer imports)."""
    import argparse

    parser = argparse.ArgumentParser(description="citybase MQTT bridge")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=1884)
    parser.add_argument("--broker-host", default=None)
    parser.add_argument("--broker-port", type=int, default=1883)
    args = parser.parse_args(argv)
    run(args.host, args.port, (args.broker_host, args.broker_port) if args.broker_host else None)


if __name__ == "__main__":
    main()
