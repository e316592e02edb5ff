"""A growing lock-out after repeated failed logins for one account, whatever address they come from.

The per-address `auth` limit slows one guesser; this stops many addresses guessing one password.
After `free_failures` failures the account's logins are refused for `base_seconds`, doubling
with each further failure up to `max_seconds`, without checking the password meanwhile. An
account that does not exist locks the same way, so a lock-out tells nothing about existence. A
successful login clears the count; failures are otherwise forgotten an hour after the first.
"""

import hashlib
import math
import time
from collections.abc import Callable

from linkedin_posts.errors import AppError
from linkedin_posts.ratelimit.store import CounterStore
from linkedin_posts.ratelimit.windows import Counters

FAILURE_MEMORY_SECONDS = 3600


class LoginLocked(AppError):
    status = 429
    code = "login_locked"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins for this account; retry in {retry_after} s.")
        self.headers = {"Retry-After": str(retry_after)}


class LoginLockout:
    def __init__(
        self,
        store: CounterStore,
        *,
        free_failures: int,
        base_seconds: int,
        max_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.free_failures = free_failures
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.clock = clock

    async def check(self, email: str) -> None:
        """Raise LoginLocked while the account is locked."""
        lock = _key("lock", email)

        async def locked_until(counters: Counters, _shared: bool) -> float | None:
            return await counters.get_expiry(lock) if await counters.get(lock) else None

        until = await self.store.run(locked_until)
        if until is not None:
            raise LoginLocked(max(1, math.ceil(until - self.clock())))

    async def failed(self, email: str) -> None:
        async def count_failure(counters: Counters, _shared: bool) -> None:
            failures = await counters.incr(_key("failures", email), FAILURE_MEMORY_SECONDS)
            if failures >= self.free_failures:
                doublings = failures - self.free_failures
                seconds = min(self.max_seconds, self.base_seconds * 2 ** min(doublings, 30))
                await counters.incr(_key("lock", email), seconds)

        await self.store.run(count_failure)

    async def succeeded(self, email: str) -> None:
        async def forget(counters: Counters, _shared: bool) -> None:
            await counters.clear(_key("failures", email))

        await self.store.run(forget)


def _key(kind: str, email: str) -> str:
    # Hashed: rate-limit keys in Redis are no place for email addresses.
    return f"login-{kind}:{hashlib.sha256(email.encode()).hexdigest()[:32]}"
