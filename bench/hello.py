"""The baseline: a FastAPI hello-world, served by bench/run.py with our uvicorn settings."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
