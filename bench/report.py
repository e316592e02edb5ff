"""Markdown for the terminal and for docs/benchmarks.md, from one run's results."""

from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:results:begin (written by bench/run.py; edit outside these markers) -->"
END = "<!-- bench:results:end -->"

ROUTES = {
    "get_post": "GET /v1/posts/{id}",
    "list_posts": "GET /v1/posts?limit=20",
    "create_post": "POST /v1/posts",
}

# Targets of this stage (no cache yet), all on GET /v1/posts/{id} at the run's connection count.
TARGET_RATIO = 0.20
TARGET_P99_MS = 25.0
TARGET_RSS_MB = 120.0


def _mb(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.0f}"


def _rss(rss: dict[str, Any]) -> str:
    workers = [w["rss_kib"] for w in rss["workers"]]
    if not workers:
        return "?"
    if len(workers) == 1:
        return _mb(workers[0])
    return f"{_mb(max(workers))} ({' / '.join(_mb(w) for w in workers)})"


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def results_table(results: dict[str, Any]) -> str:
    rows = [
        "| workers | scenario | req/s | hello-world req/s | ratio | p50 ms | p99 ms "
        "| hello p50 / p99 ms | errors | RSS/worker MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for group in results["groups"]:
        for pair in group["pairs"]:
            m, h = pair["scenario"], pair["hello"]
            ratio = m["requests_per_s"] / h["requests_per_s"] if h["requests_per_s"] else 0.0
            errors = str(m["errors"])
            if m["errors"]:
                codes = ", ".join(
                    f"{c}: {n}" for c, n in m["statuses"].items() if not c.startswith(("2", "3"))
                )
                socket = sum(m["socket_errors"].values())
                errors += f" ({codes}{', ' if codes and socket else ''}"
                errors += f"{socket} socket)" if socket else ")"
            rows.append(
                f"| {group['workers']} | `{ROUTES[m['scenario']]}` | {m['requests_per_s']:.0f} "
                f"| {h['requests_per_s']:.0f} | {ratio:.0%} | {_ms(m['p50_ms'])} "
                f"| {_ms(m['p99_ms'])} | {_ms(h['p50_ms'])} / {_ms(h['p99_ms'])} | {errors} "
                f"| {_rss(pair['rss_after'])} |"
            )
    return "\n".join(rows)


def cpu_table(results: dict[str, Any]) -> str:
    rows = [
        "| workers | scenario | server CPU ms/req | PostgreSQL CPU ms/req | wrk CPU ms/req "
        "| machine busy | PostgreSQL sessions opened |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for group in results["groups"]:
        for pair in group["pairs"]:
            for m in (pair["hello"], pair["scenario"]):
                cpu, n = m["cpu_s"], max(1, m["requests"])
                busy = (
                    cpu["machine_busy"] / cpu["machine_capacity"] if cpu["machine_capacity"] else 0
                )
                name = "hello-world `GET /`" if m["server"] == "hello" else ROUTES[m["scenario"]]
                if m["server"] != "hello":
                    name = f"`{name}`"
                rows.append(
                    f"| {group['workers']} | {name} | {cpu['server'] * 1000 / n:.2f} "
                    f"| {cpu['postgres'] * 1000 / n:.2f} | {cpu['wrk'] * 1000 / n:.2f} "
                    f"| {busy:.0%} | {cpu.get('pg_sessions_opened', 0)} |"
                )
    return "\n".join(rows)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One verdict per target and worker count, on GET /v1/posts/{id}."""
    verdicts: list[dict[str, Any]] = []
    for group in results["groups"]:
        for pair in group["pairs"]:
            m, h = pair["scenario"], pair["hello"]
            if m["scenario"] != "get_post":
                continue
            ratio = m["requests_per_s"] / h["requests_per_s"] if h["requests_per_s"] else 0.0
            final_rss = group["rss_after_run"]["workers"]
            rss_mb = max((w["rss_kib"] or 0) for w in final_rss) / 1024 if final_rss else 0.0
            checks = [
                (
                    f"req/s ≥ {TARGET_RATIO:.0%} of hello-world",
                    ratio >= TARGET_RATIO,
                    f"{ratio:.0%} ({m['requests_per_s']:.0f} vs {h['requests_per_s']:.0f})",
                ),
                (
                    f"p99 < {TARGET_P99_MS:.0f} ms at {m['connections']} connections",
                    m["p99_ms"] < TARGET_P99_MS,
                    f"{m['p99_ms']:.1f} ms",
                ),
                ("0 errors", m["errors"] == 0, str(m["errors"])),
                (
                    f"RSS < {TARGET_RSS_MB:.0f} MB per worker after the run",
                    0 < rss_mb < TARGET_RSS_MB,
                    f"{rss_mb:.0f} MB",
                ),
            ]
            verdicts.extend(
                {"workers": group["workers"], "target": t, "met": ok, "measured": v}
                for t, ok, v in checks
            )
    return verdicts


def targets_table(results: dict[str, Any]) -> str:
    rows = ["| workers | target (GET /v1/posts/{id}) | measured | met |", "|---:|---|---:|:---:|"]
    rows.extend(
        f"| {v['workers']} | {v['target']} | {v['measured']} | {'yes' if v['met'] else '**no**'} |"
        for v in targets(results)
    )
    return "\n".join(rows)


def block(results: dict[str, Any], results_file: str) -> str:
    meta, cfg = results["meta"], results["config"]
    lines = [
        f"### Recorded run: {meta['started_utc']}",
        "",
        f"- Command: `{cfg['command']}` (equivalently `{cfg['direct_command']}`)",
        f"- Raw results: [`{results_file}`](../{results_file})",
        f"- Load: `wrk --latency -t{cfg['threads']} -c{cfg['connections']} "
        f"-d{cfg['duration_s']:g}s` per measurement, after an unrecorded "
        f"{cfg['warmup_s']:g} s warm-up; each API worker started with the seeded posts in memory "
        "(`LP_CACHE_WARMUP_POSTS`); hello-world measured right before each scenario.",
        f"- Data: {cfg['users']} users with {cfg['posts_per_user']} posts each "
        f"({meta['seed']['posts']} posts, seeded in {meta['seed']['seconds']:.1f} s), "
        "one API key per user; every request is a random user with its own key.",
        f"- Machine: {meta['machine']['cpus']} CPUs ({meta['machine']['cpu_model']}), "
        f"{meta['machine']['mem_gib']:.0f} GiB, load average at start "
        f"{meta['machine']['loadavg_at_start'][0]:.2f}; "
        f"PostgreSQL {meta['versions']['postgresql']}; "
        f"Python {meta['versions']['python']}, uvicorn {meta['versions']['uvicorn']}, "
        f"FastAPI {meta['versions']['fastapi']}, SQLAlchemy {meta['versions']['sqlalchemy']}, "
        f"asyncpg {meta['versions']['asyncpg']}; {meta['versions']['wrk']}.",
        f"- Code: commit `{meta['git']['commit'][:12]}`"
        + (" with uncommitted changes in src/" if meta["git"]["src_dirty"] else "")
        + f"; run took {meta['elapsed_s']:.0f} s.",
        "",
        results_table(results),
        "",
        "Targets of this stage, on `GET /v1/posts/{id}`:",
        "",
        targets_table(results),
        "",
        "Where the CPU went during each measurement (CPU time ÷ requests; the machine has "
        f"{meta['machine']['cpus']} CPUs, and wrk, the server and PostgreSQL share them). "
        "PostgreSQL's figure counts only backends alive at the end of the measurement, so it "
        "is a lower bound when the pool opened new connections during it (last column):",
        "",
        cpu_table(results),
    ]
    return "\n".join(lines)


TEMPLATE = f"""# Benchmarks

Run with `make bench`; see bench/run.py for what it does.

{BEGIN}
{END}
"""


def replace_between(path: Path, begin: str, end: str, body: str) -> None:
    """Put `body` between two marker lines of `path`, appending the markers if missing."""
    text = path.read_text() if path.exists() else TEMPLATE
    if begin not in text or end not in text:
        text = text.rstrip() + "\n\n" + begin + "\n" + end + "\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}{begin}\n{body}\n{end}{tail}")


def update_docs(path: Path, results: dict[str, Any], results_file: str) -> None:
    replace_between(path, BEGIN, END, block(results, results_file))
