"""Figures of the API process that answers: CPU, memory, event loop, GC and database pool."""

import gc
import os
import platform
import time

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from linkedin_posts import __version__
from linkedin_posts.observability.loop_lag import LoopLagMonitor
from linkedin_posts.reader import AsyncpgReader, Reader


class CpuStats(BaseModel):
    user_seconds: float
    system_seconds: float
    percent_since_start: float = Field(
        description="Average CPU use since the process started; 100 is one core busy."
    )


class LoopLagStats(BaseModel):
    last_ms: float = Field(description="How late the monitor's last timer fired.")
    max_ms: float = Field(description="The worst lateness over the last window_seconds.")
    window_seconds: float


class GcGeneration(BaseModel):
    generation: int
    count: int = Field(
        description="Net allocations (generation 0), or collections of the younger generation, "
        "since this generation was last collected."
    )
    collections: int
    collected: int
    uncollectable: int


class PoolStats(BaseModel):
    size: int
    checked_in: int
    checked_out: int
    overflow: int = Field(description="Connections open beyond size.")


class ReadPoolStats(BaseModel):
    size: int
    in_use: int
    idle: int = Field(description="Open connections waiting for the next read.")


class ProcessStats(BaseModel):
    """Figures of the one API process that answered; every other process has its own."""

    version: str
    python_version: str
    pid: int
    uptime_seconds: float
    cpu: CpuStats
    rss_bytes: int
    open_fds: int | None = Field(description="Open file descriptors; null where the OS has none.")
    threads: int
    event_loop_lag: LoopLagStats
    gc: list[GcGeneration]
    database_pool: PoolStats | None = Field(description="Null for a pool without a fixed size.")
    database_read_pool: ReadPoolStats | None = Field(
        description="PostgreSQL's pool of the hot reads; null on SQLite, which has none."
    )


def collect(
    *, started_at: float, loop_lag: LoopLagMonitor, engine: AsyncEngine, reader: Reader
) -> ProcessStats:
    # Imported here: ~0.8 MB per process, for an admin page.
    import psutil

    # A fresh Process each time: a module-level one would keep the parent's pid after a fork.
    process = psutil.Process()
    with process.oneshot():
        cpu = process.cpu_times()
        alive = max(time.time() - process.create_time(), 1e-3)
        rss = process.memory_info().rss
        fds = process.num_fds() if hasattr(process, "num_fds") else None
        threads = process.num_threads()
    return ProcessStats(
        version=__version__,
        python_version=platform.python_version(),
        pid=os.getpid(),
        uptime_seconds=round(max(0.0, time.time() - started_at), 3),
        cpu=CpuStats(
            user_seconds=cpu.user,
            system_seconds=cpu.system,
            percent_since_start=round((cpu.user + cpu.system) / alive * 100, 2),
        ),
        rss_bytes=rss,
        open_fds=fds,
        threads=threads,
        event_loop_lag=LoopLagStats(
            last_ms=round(loop_lag.lag_seconds * 1000, 3),
            max_ms=round(loop_lag.max_lag_seconds * 1000, 3),
            window_seconds=loop_lag.window,
        ),
        gc=[
            GcGeneration(generation=generation, count=count, **stats)
            for generation, (count, stats) in enumerate(
                zip(gc.get_count(), gc.get_stats(), strict=True)
            )
        ],
        database_pool=pool_stats(engine),
        database_read_pool=read_pool_stats(reader),
    )


def pool_stats(engine: AsyncEngine) -> PoolStats | None:
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return None
    return PoolStats(
        size=pool.size(),
        checked_in=pool.checkedin(),
        checked_out=pool.checkedout(),
        # QueuePool counts overflow from -size up; below zero it means "not all opened yet".
        overflow=max(0, pool.overflow()),
    )


def read_pool_stats(reader: Reader) -> ReadPoolStats | None:
    if not isinstance(reader, AsyncpgReader):
        return None
    pool = reader.pool
    return ReadPoolStats(size=pool.size, in_use=pool.in_use, idle=pool.idle)
