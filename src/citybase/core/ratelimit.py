"""The one rate limiter, in two modes.

- :func:`hit`: fixed one-minute windows per key, for API callers (open-data keys and IPs, exchange
  grants). In-process by default (bounded memory); Redis when CITYBASE_REDIS_URL is set, so several
  app workers share the counts. Callers set ``X-RateLimit-*`` headers from the returned ``Quota`` and
  raise ``RateLimited`` (429) when ``allowed`` is false.
- :class:`TokenBucket`: a sustained rate with a burst per key, for devices (IoT telemetry over HTTP
  and MQTT): a flood from one device never slows the others. Per process on purpose: it runs on
  every message of the ingest hot path, where a Redis round trip per message would cost more than
  the write; each web worker and the MQTT bridge keep their own buckets.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from citybase.config import get_settings
from citybase.core.errors import RateLimited

WINDOW_SECONDS = 60
_MAX_KEYS = 100_000


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset_at: int  # unix seconds when the window ends
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset_at)}

    def raise_if_exceeded(self, message: str = "请求过于频繁，请稍后再试") -> None:
        if not self.allowed:
            err = RateLimited(message, detail={"limit_per_minute": self.limit, "reset_at": self.reset_at})
            err.headers = {**self.headers(), "Retry-After": str(max(1, self.reset_at - int(time.time())))}
            raise err


class _Memory:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: OrderedDict[tuple[str, int], int] = OrderedDict()

    def incr(self, key: str, window: int) -> int:
        with self.lock:
            k = (key, window)
            n = self.counts.pop(k, 0) + 1
            self.counts[k] = n
            while len(self.counts) > _MAX_KEYS:
                self.counts.popitem(last=False)
            return n

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()


_memory = _Memory()
_redis = None


def _backend_incr(key: str, window: int) -> int:
    global _redis
    url = get_settings().redis_url
    if not url:
        return _memory.incr(key, window)
    if _redis is None:
        import redis  # optional dependency for multi-worker deployments

        _redis = redis.Redis.from_url(url)
    rkey = f"cb:rl:{key}:{window}"
    pipe = _redis.pipeline()
    pipe.incr(rkey)
    pipe.expire(rkey, WINDOW_SECONDS * 2)
    return int(pipe.execute()[0])


def hit(key: str, limit_per_minute: int) -> Quota:
    """Count one call for ``key`` and say whether it is within ``limit_per_minute``."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    reset_at = (window + 1) * WINDOW_SECONDS
    if limit_per_minute <= 0:
        return Quota(limit=0, remaining=0, reset_at=reset_at, allowed=True)
    n = _backend_incr(key, window)
    return Quota(limit=limit_per_minute, remaining=max(0, limit_per_minute - n), reset_at=reset_at,
                 allowed=n <= limit_per_minute)


def reset() -> None:
    """Forget all in-process counts (tests)."""
    _memory.reset()


class TokenBucket:
    """Token bucket per key: ``rate`` tokens a second up to ``burst``; each call spends ``cost``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[object, list[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: object, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens of ``key``'s bucket if it has them; False (nothing spent) if not."""
        now = time.monotonic()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                b = self._buckets[key] = [self.burst, now]
            tokens = min(self.burst, b[0] + (now - b[1]) * self.rate)
            b[1] = now
            if tokens < cost:
                b[0] = tokens
                return False
            b[0] = tokens - cost
            return True

    def reset(self) -> None:
        """Forget every bucket (tests)."""
        with self._lock:
            self._buckets.clear()
