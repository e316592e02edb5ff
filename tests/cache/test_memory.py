"""L1 memory: TTL at its boundary, LRU and LFU eviction, the entry and byte bounds, and a
property test against a plain reference model of an LRU cache.

The clock is a fake one the tests move by hand, so nothing here waits or depends on timing.
"""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkedin_posts.cache.memory import MISSING, MemoryCache, Policy


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def memory(
    clock: FakeClock | None = None,
    *,
    max_entries: int = 100,
    max_bytes: int = 10_000,
    ttl_seconds: float = 60.0,
    policy: Policy = "lru",
) -> MemoryCache:
    return MemoryCache(
        max_entries=max_entries,
        max_bytes=max_bytes,
        ttl_seconds=ttl_seconds,
        policy=policy,
        clock=clock or FakeClock(),
    )


def present(cache: MemoryCache, *keys: str) -> set[str]:
    """Which of `keys` the cache still answers (reading them, which counts as a use)."""
    return {key for key in keys if cache.get(key) is not MISSING}


# --- TTL ----------------------------------------------------------------------------------------


def test_an_entry_answers_until_its_ttl_and_expires_exactly_at_it() -> None:
    clock = FakeClock(1000.0)
    cache = memory(clock, ttl_seconds=10.0)
    cache.set("k", "v", size=7)

    clock.now = 1009.5
    assert cache.get("k") == "v"
    clock.now = 1010.0  # expires_at == now: gone
    assert cache.get("k") is MISSING
    assert (cache.expirations, len(cache), cache.bytes) == (1, 0, 0)


def test_a_per_entry_ttl_may_shorten_the_default_but_never_lengthen_it() -> None:
    clock = FakeClock(0.0)
    cache = memory(clock, ttl_seconds=10.0)
    cache.set("short", 1, size=1, ttl=2.0)
    cache.set("long", 2, size=1, ttl=100.0)
    cache.set("default", 3, size=1)

    clock.now = 2.0
    assert present(cache, "short", "long", "default") == {"long", "default"}
    clock.now = 9.9
    assert present(cache, "long", "default") == {"long", "default"}
    clock.now = 10.0
    assert present(cache, "long", "default") == set()
    assert cache.expirations == 3


def test_setting_a_key_again_restarts_its_ttl() -> None:
    clock = FakeClock(0.0)
    cache = memory(clock, ttl_seconds=10.0)
    cache.set("k", "old", size=1)
    clock.now = 8.0
    cache.set("k", "new", size=1)
    clock.now = 17.0
    assert cache.get("k") == "new"


# --- eviction order -----------------------------------------------------------------------------


def test_lru_evicts_the_least_recently_read_entry() -> None:
    cache = memory(max_entries=3, policy="lru")
    for key in ("a", "b", "c"):
        cache.set(key, key.upper(), size=1)
    assert cache.get("a") == "A"
    assert cache.get("b") == "B"
    cache.set("d", "D", size=1)  # "a" was set first, but "c" was used longest ago

    assert cache.evictions == 1
    assert present(cache, "a", "b", "c", "d") == {"a", "b", "d"}


def test_lfu_evicts_the_least_frequently_used_entry() -> None:
    cache = memory(max_entries=3, policy="lfu")
    for key in ("a", "b", "c"):
        cache.set(key, key, size=1)
    for key in ("a", "a", "c"):
        cache.get(key)
    cache.set("d", "d", size=1)  # "b" was used once (its set), the others more

    assert cache.evictions == 1
    assert present(cache, "a", "b", "c", "d") == {"a", "c", "d"}


def test_lfu_evicts_the_oldest_among_equally_used_entries() -> None:
    cache = memory(max_entries=3, policy="lfu")
    for key in ("a", "b", "c"):
        cache.set(key, key, size=1)
    cache.set("d", "d", size=1)  # a, b, c used once each: the oldest, "a", goes
    cache.set("e", "e", size=1)  # then "b"; "d" is newer although it too was used once

    assert cache.evictions == 2
    assert present(cache, "a", "b", "c", "d", "e") == {"c", "d", "e"}


def test_lfu_replacing_a_value_that_no_longer_fits_evicts_the_others() -> None:
    cache = memory(max_bytes=100, policy="lfu")
    cache.set("hot", 1, size=50)
    cache.get("hot")
    cache.set("k", "small", size=50)
    cache.set("k", "bigger", size=60)  # only "hot" is left to make room, whatever its count

    assert cache.get("k") == "bigger"
    assert cache.get("hot") is MISSING
    assert (cache.bytes, cache.evictions) == (60, 1)


# --- bounds -------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["lru", "lfu"])
def test_max_entries_is_never_exceeded(policy: Policy) -> None:
    cache = memory(max_entries=3, policy=policy)
    for i in range(10):
        cache.set(i, i, size=1)
        assert len(cache) <= 3

    assert (len(cache), cache.evictions) == (3, 7)
    assert [cache.get(i) for i in range(10)] == [MISSING] * 7 + [7, 8, 9]


@pytest.mark.parametrize("policy", ["lru", "lfu"])
def test_one_big_value_evicts_as_many_small_ones_as_it_needs(policy: Policy) -> None:
    cache = memory(max_bytes=100, policy=policy)
    for key in ("a", "b", "c", "d"):
        cache.set(key, key, size=20)
    cache.set("big", "B", size=70)  # 80 + 70 > 100: a, b and c go, d stays (20 + 70 = 90)

    assert (cache.evictions, cache.bytes, len(cache)) == (3, 90, 2)
    assert present(cache, "a", "b", "c", "d", "big") == {"d", "big"}


def test_a_value_larger_than_max_bytes_is_not_stored_and_evicts_nothing() -> None:
    cache = memory(max_bytes=100)
    cache.set("small", 1, size=40)
    cache.set("huge", 2, size=101)

    assert cache.get("huge") is MISSING
    assert cache.get("small") == 1
    assert (cache.bytes, len(cache), cache.evictions) == (40, 1, 0)


def test_a_value_of_exactly_max_bytes_is_stored() -> None:
    cache = memory(max_bytes=100)
    cache.set("small", 1, size=1)
    cache.set("full", 2, size=100)
    assert (cache.get("full"), cache.get("small"), cache.bytes) == (2, MISSING, 100)


def test_an_oversized_replacement_does_not_leave_the_old_value_answering() -> None:
    cache = memory(max_bytes=100)
    cache.set("k", "old", size=10)
    cache.set("k", "new", size=101)
    # The caller replaced "old"; answering it now serves a value that is no longer current.
    assert cache.get("k") is MISSING


def test_replacing_a_key_counts_its_bytes_once() -> None:
    cache = memory(max_bytes=100)
    cache.set("k", "a", size=30)
    cache.set("k", "b", size=50)
    assert (cache.get("k"), cache.bytes, len(cache), cache.evictions) == ("b", 50, 1, 0)


# --- delete and clear ---------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["lru", "lfu"])
def test_delete_and_clear_give_back_entries_and_bytes(policy: Policy) -> None:
    cache = memory(max_entries=3, policy=policy)
    cache.set("a", 1, size=10)
    cache.set("b", 2, size=20)
    cache.set("c", 3, size=30)

    assert cache.delete("b") is True
    assert cache.delete("b") is False
    assert (cache.get("b"), cache.bytes, len(cache)) == (MISSING, 40, 2)

    assert cache.clear() == 2
    assert (cache.get("a"), cache.bytes, len(cache)) == (MISSING, 0, 0)
    # The order bookkeeping was cleared too: filling it again evicts normally.
    for key in ("d", "e", "f", "g"):
        cache.set(key, key, size=1)
    assert present(cache, "d", "e", "f", "g") == {"e", "f", "g"}
    assert cache.evictions == 1


# --- property: against a reference model --------------------------------------------------------

MAX_ENTRIES = 4
MAX_BYTES = 50
KEYS = st.sampled_from("abcdefg")
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, st.integers(0, 1000), st.integers(1, MAX_BYTES)),
        st.tuples(st.just("get"), KEYS),
        st.tuples(st.just("delete"), KEYS),
    ),
    max_size=60,
)


class ReferenceLru:
    """The obvious LRU: a list in use order, oldest first, scanned and rebuilt on every call."""

    def __init__(self) -> None:
        self.items: list[tuple[str, int, int]] = []  # key, value, size

    def get(self, key: str) -> Any:
        for item in self.items:
            if item[0] == key:
                self.items.remove(item)
                self.items.append(item)
                return item[1]
        return MISSING

    def set(self, key: str, value: int, size: int) -> None:
        self.delete(key)
        while self.items and (
            len(self.items) >= MAX_ENTRIES or sum(i[2] for i in self.items) + size > MAX_BYTES
        ):
            self.items.pop(0)
        self.items.append((key, value, size))

    def delete(self, key: str) -> None:
        self.items = [item for item in self.items if item[0] != key]


@settings(max_examples=300, deadline=None)
@given(OPERATIONS)
def test_lru_matches_the_reference_model_and_stays_within_bounds(
    operations: list[tuple[Any, ...]],
) -> None:
    cache = memory(max_entries=MAX_ENTRIES, max_bytes=MAX_BYTES, policy="lru")
    model = ReferenceLru()
    last_set: dict[str, int] = {}
    for operation in operations:
        match operation:
            case ("set", key, value, size):
                cache.set(key, value, size=size)
                model.set(key, value, size)
                last_set[key] = value
            case ("get", key):
                got, expected = cache.get(key), model.get(key)
                assert got is MISSING or got == last_set[key]
                assert got == expected
            case ("delete", key):
                cache.delete(key)
                model.delete(key)
                last_set.pop(key, None)
        assert len(cache) <= MAX_ENTRIES
        assert 0 <= cache.bytes <= MAX_BYTES
        assert cache.bytes == sum(item[2] for item in model.items)
        assert len(cache) == len(model.items)
