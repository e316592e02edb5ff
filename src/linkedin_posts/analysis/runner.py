"""Where analyses run: off the event loop, in a pool of threads or processes (LP_ANALYSIS_EXECUTOR).

Measured (docs/benchmarks.md, "Analysis"): with one API process per core, a pool of one process
per worker served as many unique analyses per second as one thread (284 against 276, within the
machine's noise) but added 146 MB per worker against 67 MB, since each pool process holds its own
models; so a thread is the default. A process pool pays off only where one API process must use
several cores for analysis.
"""

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor

import orjson

from linkedin_posts.analysis.engine import Analyzer
from linkedin_posts.config import Settings
from linkedin_posts.observability.metrics import ANALYSIS_SECONDS

# The analyzer of a pool process, built by its initializer.
_process_analyzer: Analyzer | None = None


def _build(settings: Settings) -> Analyzer:
    return Analyzer(
        languages=settings.analysis_languages,
        high_accuracy=settings.analysis_accuracy == "high",
        keywords=settings.analysis_keywords,
    )


def _start_process(settings: Settings) -> None:
    global _process_analyzer  # one per pool process, set once at its start
    _process_analyzer = _build(settings)
    if settings.analysis_preload:
        _process_analyzer.preload()


def _analyze_in_process(text: str, language: str | None) -> bytes:
    assert _process_analyzer is not None
    return orjson.dumps(_process_analyzer.analyze(text, language))


class AnalysisRunner:
    """Runs analyses on its pool and answers the JSON body of each."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # What else than the text decides a result: part of the cache key.
        self.fingerprint = ",".join(
            [
                *settings.analysis_languages,
                settings.analysis_accuracy,
                str(settings.analysis_keywords),
            ]
        )
        self.pool: Executor
        self._analyze: Callable[[str, str | None], bytes]
        if settings.analysis_executor == "process":
            # Imported here: multiprocessing costs every other process ~0.5 MB.
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # forkserver: a fork of this process would copy its event loop and threads.
            self.pool = ProcessPoolExecutor(
                settings.analysis_workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_start_process,
                initargs=(settings,),
            )
            self._analyze = _analyze_in_process
            self.analyzer = None
        else:
            self.pool = ThreadPoolExecutor(settings.analysis_workers, thread_name_prefix="analysis")
            analyzer = self.analyzer = _build(settings)
            self._analyze = lambda text, language: orjson.dumps(analyzer.analyze(text, language))

    async def preload(self) -> None:
        """Load the models before serving (LP_ANALYSIS_PRELOAD)."""
        loop = asyncio.get_running_loop()
        if self.analyzer is not None:
            await loop.run_in_executor(self.pool, self.analyzer.preload)
        else:  # a first analysis on each pool process starts it, and its initializer preloads
            await asyncio.gather(
                *(
                    loop.run_in_executor(self.pool, _analyze_in_process, "Hello.", "en")
                    for _ in range(self.settings.analysis_workers)
                )
            )

    async def run(self, text: str, language: str | None) -> bytes:
        started = time.perf_counter()
        body = await asyncio.get_running_loop().run_in_executor(
            self.pool, self._analyze, text, language
        )
        ANALYSIS_SECONDS.labels(self.settings.analysis_executor).observe(
            time.perf_counter() - started
        )
        return body

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
