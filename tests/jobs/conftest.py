"""What the job tests share as fixtures."""

import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import REDIS_URL


@pytest.fixture
def stream() -> Iterator[str]:
    """A job-queue stream of the test's own, so no other test's workers take its jobs."""
    name = f"lp:jobs:test:{uuid.uuid4().hex}"
    yield name
    if REDIS_URL:
        redis.Redis.from_url(REDIS_URL).delete(name)
