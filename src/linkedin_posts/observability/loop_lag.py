"""Event-loop lag: how late a timer fires, the sign of blocking work on the loop."""

import asyncio
import contextlib
from collections import deque


class LoopLagMonitor:
    """Sleep a fixed interval, over and over, and record how late each wake-up was.

    `lag_seconds` is the last wake-up's lag; `max_lag_seconds` the worst over the last `window`
    seconds, so one stall at start-up does not hide how the loop is doing now.
    """

    def __init__(self, interval: float = 0.5, window: float = 60.0) -> None:
        self.interval = interval
        self.window = window
        self.lag_seconds = 0.0
        self._recent: deque[float] = deque(maxlen=max(1, round(window / interval)))
        self._task: asyncio.Task[None] | None = None

    @property
    def max_lag_seconds(self) -> float:
        return max(self._recent, default=0.0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            # The loop may wake a timer up to its clock resolution early: that is no lag.
            self.lag_seconds = max(0.0, loop.time() - expected)
            self._recent.append(self.lag_seconds)
