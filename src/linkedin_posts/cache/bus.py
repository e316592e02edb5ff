"""Invalidations between processes over Redis pub/sub.

A write publishes the keys it changed (SharedCache.invalidate); every other process drops them
from its memory. The listener pings through its subscription every `ping_seconds`: one that
stops answering (Redis gone, paused, a cut connection) counts as lost within three intervals.
While it is lost this process may miss invalidations, so the cache keeps memory entries only
briefly (`on_deaf`), and when it subscribes again it clears its memory, since anything in it
may have been changed meanwhile (`on_hearing`).
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson

from linkedin_posts.cache.shared import KEY_PREFIX

if TYPE_CHECKING:
    import redis.asyncio as redis

logger = logging.getLogger(__name__)

CHANNEL = f"{KEY_PREFIX}:invalidate"
# The longest a stop waits for the subscription to close.
STOP_SECONDS = 1.0


class InvalidationBus:
    def __init__(
        self,
        client: "redis.Redis",
        *,
        on_keys: Callable[[list[str]], None],
        on_hearing: Callable[[], None],
        on_deaf: Callable[[], None],
        ping_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.on_keys = on_keys
        self.on_hearing = on_hearing
        self.on_deaf = on_deaf
        self.ping_seconds = ping_seconds
        # Our own messages come back to us; their keys were dropped here before publishing.
        self.origin = uuid.uuid4().hex
        self.hearing = False
        self._heard = asyncio.Event()  # set while hearing
        self.ack_channel = f"{KEY_PREFIX}:ack:{self.origin}"
        self._ack_channel_bytes = self.ack_channel.encode()
        self._acks: dict[str, int] = {}
        self._acked: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        import redis.exceptions

        self._failures = (redis.exceptions.RedisError, OSError, TimeoutError)

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="cache-invalidation-listener")

    async def until_hearing(self, seconds: float) -> bool:
        """Wait for the subscription, up to `seconds`; False if Redis did not answer by then."""
        try:
            async with asyncio.timeout(seconds):
                await self._heard.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        # Also a flag, not only the cancellation: a cancel that lands while the listener waits
        # on a timeout of its own can come out as that TimeoutError, which the loop survives,
        # and a listener of a stopped app would then subscribe again and answer no one.
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            # Bounded: a subscription cancelled in the middle of a read can wait on its
            # connection while it closes, and a shutdown must not hang on Redis.
            await asyncio.wait({self._task}, timeout=STOP_SECONDS)

    def announcement(self, keys: list[str]) -> tuple[str, bytes]:
        """An id, and what a write publishes on CHANNEL (sent with the shared cache's deletes)."""
        message_id = uuid.uuid4().hex
        return message_id, orjson.dumps({"origin": self.origin, "id": message_id, "keys": keys})

    def expect(self, message_id: str) -> None:
        """Count acknowledgements of this message from now on (call before publishing it)."""
        self._acks[message_id] = 0
        self._acked[message_id] = asyncio.Event()

    async def acknowledged(self, message_id: str, receivers: int, seconds: float) -> bool:
        """Wait until `receivers` other processes have dropped the keys; False after `seconds`.

        `receivers` counts the subscriptions Redis delivered the message to, this process's own
        included while it hears the channel.
        """
        needed = receivers - (1 if self.hearing else 0)
        event = self._acked[message_id]
        try:
            async with asyncio.timeout(seconds):
                while self._acks[message_id] < needed:
                    event.clear()
                    await event.wait()
        except TimeoutError:
            return False
        finally:
            del self._acks[message_id], self._acked[message_id]
        return True

    async def _listen(self) -> None:
        while not self._stopping:
            pubsub = self.client.pubsub()
            try:
                await self._subscribed(pubsub)
            except self._failures as exc:
                if self.hearing:
                    logger.warning(
                        "cache: invalidation channel lost (%s); memory entries now live %s",
                        type(exc).__name__,
                        "briefly until it is back",
                    )
                    self.hearing = False
                    self._heard.clear()
                    self.on_deaf()
            finally:
                with contextlib.suppress(*self._failures, TimeoutError):
                    async with asyncio.timeout(STOP_SECONDS):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(self.ping_seconds)

    async def _subscribed(self, pubsub: "redis.client.PubSub") -> None:
        await pubsub.subscribe(CHANNEL, self.ack_channel)
        loop = asyncio.get_running_loop()
        last_heard = pinged = loop.time()
        awaiting_confirmation = True
        while not self._stopping:
            message = await pubsub.get_message(timeout=self.ping_seconds)
            now = loop.time()
            if message is not None:
                last_heard = now
                kind = message["type"]
                if kind == "subscribe" and awaiting_confirmation and message["data"] == 2:
                    awaiting_confirmation = False
                    if not self.hearing:
                        # Whatever this process cached while deaf may be stale by now.
                        self.on_hearing()
                        self.hearing = True
                        self._heard.set()
                        logger.warning("cache: invalidation channel subscribed")
                elif kind == "message" and message["channel"] == self._ack_channel_bytes:
                    self._count_ack(message["data"])
                elif kind == "message":
                    await self._received(message["data"])
            if now - last_heard > 3 * self.ping_seconds:
                raise TimeoutError("the invalidation channel stopped answering pings")
            if now - pinged >= self.ping_seconds:
                await pubsub.ping()
                pinged = now

    async def _received(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            origin, message_id, keys = message["origin"], message["id"], message["keys"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            logger.warning("cache: ignored a malformed invalidation message")
            return
        if origin == self.origin:
            return
        self.on_keys(keys)
        # The writer answers its client once every process has dropped the keys.
        await self.client.publish(f"{KEY_PREFIX}:ack:{origin}", message_id)

    def _count_ack(self, data: bytes) -> None:
        message_id = data.decode()
        if message_id in self._acks:
            self._acks[message_id] += 1
            self._acked[message_id].set()
