"""The parts of read-your-writes that need no PostgreSQL: the marks and the replica's freshness."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError

from linkedin_posts.cache.recent_writes import RECENT_WRITE, REDIS_UNAVAILABLE, RecentWrites
from linkedin_posts.replica import Freshness, wal_end
from tests.conftest import REDIS_URL

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs LP_TEST_REDIS_URL")


@pytest.fixture
async def client() -> AsyncIterator[redis.Redis]:
    assert REDIS_URL
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


def owner() -> str:
    return str(uuid.uuid4())


@needs_redis
async def test_a_mark_is_seen_by_every_process_for_the_window(client: redis.Redis) -> None:
    writer = RecentWrites(client, window=0.3)
    elsewhere = RecentWrites(client, window=0.3)
    wrote, did_not = owner(), owner()

    await writer.noted([wrote])

    assert await writer.why_primary(wrote) == RECENT_WRITE
    assert await elsewhere.why_primary(wrote) == RECENT_WRITE
    assert await elsewhere.why_primary(did_not) is None
    await asyncio.sleep(0.35)  # the window is a span of time: waiting it out is the condition
    assert await writer.why_primary(wrote) is None
    assert await elsewhere.why_primary(wrote) is None


class FlakyRedis:
    """Just the calls RecentWrites makes, failing while `down`."""

    def __init__(self) -> None:
        self.down = True
        self.marks: dict[str, int] = {}

    async def exists(self, key: str) -> int:
        self._answer()
        return int(key in self.marks)

    def pipeline(self, transaction: bool) -> "FlakyRedis.Pipeline":
        return FlakyRedis.Pipeline(self)

    def _answer(self) -> None:
        if self.down:
            raise RedisConnectionError("refused")

    class Pipeline:
        def __init__(self, redis: "FlakyRedis") -> None:
            self.redis = redis
            self.sets: dict[str, int] = {}

        def set(self, key: str, value: bytes, px: int) -> None:
            self.sets[key] = px

        async def execute(self) -> list[bool]:
            self.redis._answer()
            self.redis.marks.update(self.sets)
            return [True] * len(self.sets)


async def test_without_redis_reads_go_to_the_primary_and_marks_are_sent_later() -> None:
    flaky = FlakyRedis()
    marks = RecentWrites(flaky, window=0.4)  # type: ignore[arg-type]
    marks.start()
    try:
        wrote, wrote_next, did_not = owner(), owner(), owner()
        await marks.noted([wrote])  # the write has committed: it must not fail now
        await marks.noted([wrote_next])  # not even tried: Redis just failed

        assert await marks.why_primary(wrote) == RECENT_WRITE  # known here without Redis
        assert await marks.why_primary(did_not) == REDIS_UNAVAILABLE

        flaky.down = False
        # Sent by the upkeep (every window / 4), with what is left of their window.
        async with asyncio.timeout(1):
            while len(flaky.marks) < 2:  # noqa: ASYNC110 (a fake has no event to wait on)
                await asyncio.sleep(0.01)
        assert 0 < flaky.marks[f"lp:rw:v1:{wrote}"] <= 400
        assert 0 < flaky.marks[f"lp:rw:v1:{wrote_next}"] <= 400
    finally:
        await marks.stop()


def test_the_replica_is_fresh_as_of_the_newest_primary_position_it_has_replayed() -> None:
    freshness = Freshness()
    assert freshness.fresh_as_of is None

    freshness.primary_at(10.0, 100)
    freshness.primary_at(11.0, 100)  # nothing written in between
    freshness.primary_at(12.0, 250)
    freshness.replica_replayed(99)
    assert freshness.fresh_as_of is None
    freshness.replica_replayed(100)
    assert freshness.fresh_as_of == 11.0
    freshness.replica_replayed(249)
    assert freshness.fresh_as_of == 11.0
    freshness.replica_replayed(300)
    assert freshness.fresh_as_of == 12.0


def test_a_long_lag_forgets_the_oldest_positions_and_only_looks_staler() -> None:
    freshness = Freshness()
    for second in range(Freshness.MAX_SAMPLES + 10):
        freshness.primary_at(float(second), second)

    freshness.replica_replayed(5)  # among the positions forgotten

    assert freshness.fresh_as_of is None
    freshness.replica_replayed(Freshness.MAX_SAMPLES + 9)
    assert freshness.fresh_as_of == Freshness.MAX_SAMPLES + 9


@pytest.mark.parametrize(
    ("insert", "written"),
    [
        (0x3000028, 0x3000000),  # idle after a WAL switch: past the new segment's long header
        (0x3016018, 0x3016000),  # past a page's short header
        (0x3016060, 0x3016060),  # within a page: a record ends there
        (0x3016028, 0x3016028),  # 16 bytes of a record after a short header
    ],
)
def test_the_wal_ends_before_a_page_header_not_yet_written(insert: int, written: int) -> None:
    assert wal_end(insert, page=8192, segment=16 * 1024 * 1024) == written
