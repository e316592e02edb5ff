"""Language detection, low against high accuracy: errors by text length, time, memory.

    .venv/bin/python bench/language_accuracy.py [--count 1000] [--seed 7]

The texts are bench/corpus.py's posts cut to each length; each mode runs in a process of its
own, so the memory it adds is its models' alone.
"""

import argparse
import json
import subprocess
import sys
import time

import corpus
import psutil

from linkedin_posts.analysis.language import LanguageDetection

LENGTHS = (30, 60, 120, 1000)
LANGUAGES = ["en", "es", "fr", "de", "pt", "it", "nl"]


def measure(mode: str, count: int, seed: int) -> dict[str, object]:
    posts = corpus.posts(count, seed=seed)
    process = psutil.Process()
    before = process.memory_info().rss
    detection = LanguageDetection(LANGUAGES, high_accuracy=mode == "high")
    rows = []
    for length in LENGTHS:
        started = time.perf_counter()
        wrong = sum(1 for p in posts if detection.detect(p.text[:length]).code != p.language)
        seconds = time.perf_counter() - started
        rows.append({"characters": length, "wrong": wrong, "ms_per_text": seconds / count * 1e3})
    added = (process.memory_info().rss - before) / 1e6
    return {"mode": mode, "texts": count, "rss_added_mb": round(added), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=("low", "high"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(measure(args.mode, args.count, args.seed)))
        return
    print("| mode | RSS added | " + " | ".join(f"wrong at {n} chars" for n in LENGTHS) + " |")
    print("|---|---|" + "---|" * len(LENGTHS))
    for mode in ("low", "high"):
        command = [sys.executable, __file__, "--mode", mode, "--count", str(args.count)]
        command += ["--seed", str(args.seed)]
        result = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
        cells = [
            f"{row['wrong']}/{args.count} ({row['ms_per_text']:.2f} ms)" for row in result["rows"]
        ]
        print(f"| {mode} | {result['rss_added_mb']} MB | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
