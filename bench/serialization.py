"""How a page of 20 posts becomes JSON bytes: FastAPI's default path against orjson paths.

Run: .venv/bin/python bench/serialization.py
"""

import timeit
import uuid

import orjson
from fastapi.encoders import jsonable_encoder
from pydantic import TypeAdapter

from linkedin_posts.posts.schemas import PostPage, PostRead
from linkedin_posts.types import utcnow


def main() -> None:
    post = PostRead(
        id=uuid.uuid4(),
        title="Three things I learned",
        body="Shipping v1 taught us more than any plan did. " * 20,
        status="draft",
        visibility="PUBLIC",
        campaign="launch",
        tags=["launch", "product"],
        scheduled_at=None,
        created_at=utcnow(),
        updated_at=utcnow(),
        version=3,
    )
    page = PostPage(items=[post] * 20, next_cursor="AQGiBgvBeHXUkzXViO3ntg")
    adapter = TypeAdapter(PostPage)
    candidates = {
        # What FastAPI does with a response_model and the default response class.
        "pydantic dump_json (FastAPI default)": lambda: adapter.dump_json(page),
        # What ORJSONResponse does: a JSON-safe dict first, then orjson.
        "model_dump(json) + orjson (ORJSONResponse)": lambda: orjson.dumps(
            jsonable_encoder(adapter.dump_python(page, mode="json"))
        ),
        # The fastest orjson path, usable only where we build the response ourselves.
        "model_dump(python) + orjson": lambda: orjson.dumps(adapter.dump_python(page)),
    }
    runs = 5000
    for name, fn in candidates.items():
        best = min(timeit.repeat(fn, number=runs, repeat=5)) / runs
        print(f"{name:45s} {best * 1e6:8.1f} us per page")


if __name__ == "__main__":
    main()
