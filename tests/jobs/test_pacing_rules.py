"""The pacing rules on their own: who gets a runner's free slot, how the provider cap moves."""

import asyncio

from linkedin_posts.jobs.pacing import AdaptiveLimit, PrioritySlots


async def test_a_free_slot_goes_to_the_most_urgent_job_then_the_smallest() -> None:
    slots = PrioritySlots(1)
    order: list[str] = []

    async def item(name: str, rank: tuple[int, int]) -> None:
        async with slots.slot(rank):
            order.append(name)

    async with slots.slot((0, 0)):
        waiting = [
            asyncio.create_task(item("large normal", (-1, 10_000))),
            asyncio.create_task(item("small low", (0, 5))),
            asyncio.create_task(item("small normal", (-1, 5))),
            asyncio.create_task(item("large high", (-2, 10_000))),
        ]
        await asyncio.sleep(0)
        assert slots.waiting == 4
    await asyncio.gather(*waiting)

    assert order == ["large high", "small normal", "large normal", "small low"]
    assert (slots.in_use, slots.waiting) == (0, 0)


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    slots = PrioritySlots(1)
    async with slots.slot((0, 0)):
        gone = asyncio.create_task(slots.slot((-1, 1)).__aenter__())
        kept = asyncio.create_task(slots.slot((0, 1)).__aenter__())
        await asyncio.sleep(0)
        gone.cancel()
    await kept
    assert slots.in_use == 1


async def test_the_provider_cap_doubles_until_overload_then_halves_and_grows_slowly() -> None:
    limit = AdaptiveLimit(initial=4, maximum=32)
    for _ in range(4):
        limit.succeeded()
    assert limit.limit == 8  # slow start: one more per success

    await limit.overloaded(round_seconds=60)
    await limit.overloaded(round_seconds=60)  # the same round: one signal
    assert (limit.limit, limit.decreases) == (4, 1)

    for _ in range(4):
        limit.succeeded()
    assert 4.9 < limit.limit < 5  # about one more per round of four calls
    for _ in range(600):  # from 5 to 32 at +1/cap takes about (32^2 - 5^2) / 2 successes
        limit.succeeded()
    assert limit.limit == 32
