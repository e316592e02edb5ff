"""Event-loop lag: how late a timer fires, the sign of blocking work on the loop. (stub)"""


class LoopLagMonitor:
    lag_seconds = 0.0
    max_lag_seconds = 0.0

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
