"""`linkedin-posts worker`: a process that runs bulk jobs and serves no HTTP.

It is the app without its server: the same lifespan opens the database, Redis, the cache, the
AI provider and the job runner, so a worker runs items exactly as an API process's embedded
runner does. SIGTERM or SIGINT stops it: items in hand finish (for up to 5 s), the rest are handed
back for another runner.
"""

import asyncio
import logging
import signal

from linkedin_posts.config import Settings
from linkedin_posts.jobs.queue import open_job_queue
from linkedin_posts.jobs.runner import SCAN_LIMIT

logger = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    from linkedin_posts.main import create_app

    app = create_app(settings.model_copy(update={"jobs_enabled": True}))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    queue = None
    async with app.router.lifespan_context(app):
        runner = app.state.job_runner
        queue = open_job_queue(settings, consumer=runner.name, listens=True)
        if queue is not None:
            runner.queue = queue
            queue.start_listening(runner.follow, SCAN_LIMIT)
        logger.warning("worker %s: running jobs%s", runner.name, " from the queue" if queue else "")
        await stopping.wait()
        logger.warning("worker %s: stopping", runner.name)
        if queue is not None:
            # Unacknowledged, what it was following goes to another worker; the runner's stop
            # (the lifespan's end) hands back its items and announces their jobs again.
            await queue.stop_listening()
    if queue is not None:
        await queue.close()
