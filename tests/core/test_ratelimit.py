from __future__ import annotations

import pytest

from citybase.core import ratelimit
from citybase.core.errors import RateLimited


def test_fixed_window_counts_per_key(db_home):
    ratelimit.reset()
    quotas = [ratelimit.hit("dev:alice", 3) for _ in range(4)]
    assert [q.allowed for q in quotas] == [True, True, True, False]
    assert [q.remaining for q in quotas] == [2, 1, 0, 0]
    assert ratelimit.hit("dev:bob", 3).allowed  # other callers are unaffected
    with pytest.raises(RateLimited) as e:
        quotas[-1].raise_if_exceeded()
    assert e.value.status_code == 429 and e.value.headers["X-RateLimit-Limit"] == "3"
    assert int(e.value.headers["Retry-After"]) >= 1
