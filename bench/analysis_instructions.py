"""Instructions per analysis, counted by valgrind: a figure this shared, noisy machine cannot move.

    .venv/bin/python bench/analysis_instructions.py
    .venv/bin/python bench/analysis_instructions.py --parts analysis,keywords --src /tmp/old/src
    .venv/bin/python bench/analysis_instructions.py --help

Times on this machine spread by ±20% from one run to the next; instruction counts do not (two
runs of the same code agree to a few thousandths), so a change of a few percent shows. For each
part, this script runs itself twice under `valgrind --tool=cachegrind --cache-sim=no`: models
loaded, --warmup posts analysed, gc.freeze() as the server does after start; then no more posts,
or --posts more posts of bench/corpus.py (seed 5), the same inputs prepared in both. The
difference of the two totals, divided by --posts, is one post's instructions, start-up and
warm-up excluded. PYTHONHASHSEED=0 and `setarch -R` (no address randomization) make the runs
repeatable.

The parts: `analysis` (Analyzer.analyze, all of it) and, each on the same text, `keywords`,
`language`, `sentiment` (with the detected language), `readability`, `graphemes`, `counts`
(counts, emoji, links, hashtags and mentions) and `rules`. Instructions are user space only: a
system call's work in the kernel is not counted; nor is the request's path around an analysis
(bench/inprocess.py --scenarios analyze_unique analysis_alone measures that in time).

--src DIR measures another checkout's code (its `src` directory, e.g. of a `git worktree` at an
earlier commit) with this checkout's script and corpus: the baseline, in the same run.
Needs valgrind (`make bench` installs it with wrk).
"""

import argparse
import gc
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import valgrind

PARTS = (
    "analysis",
    "keywords",
    "language",
    "sentiment",
    "readability",
    "graphemes",
    "counts",
    "rules",
)
SEED = 5
I_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def part_function(part: str, texts: list[str]) -> Callable[[str], Any]:
    """What one post costs in `part`, as a function of its text (inputs made beforehand)."""
    from linkedin_posts.analysis import fold as folding
    from linkedin_posts.analysis import rules
    from linkedin_posts.analysis import text as counting
    from linkedin_posts.analysis.keywords import extract_keywords, stopwords_for
    from linkedin_posts.analysis.runner import _build
    from linkedin_posts.config import Settings
    from linkedin_posts.linkedin import little_text

    analyzer = _build(Settings(_env_file=None))  # type: ignore[call-arg]
    analyzer.preload()
    code = {text: analyzer.language.detect(text).code for text in texts}
    clusters = {text: counting.graphemes(text) for text in texts}
    emoji = {text: counting.emojis(text, clusters[text]) for text in texts}

    def draft(text: str) -> rules.Draft:
        hashtags, mentions = little_text.hashtag_spans(text), little_text.mentions(text)
        hook = folding.hook_of(text)
        return rules.Draft(
            text=text,
            publishable=len("".join(clusters[text][: rules.MAX_GRAPHEMES])),
            counts=counting.count(text, clusters[text], emoji[text]),
            hook=hook,
            mobile_fold=folding.mobile(clusters[text], hook),
            hashtags=hashtags,
            links=counting.links(text),
            templates=[(t.start, t.end) for t in hashtags] + [(m.start, m.end) for m in mentions],
        )

    def counts(text: str) -> None:
        found = counting.emojis(text, clusters[text])
        counting.count(text, clusters[text], found)
        counting.links(text)
        little_text.hashtag_spans(text)
        little_text.mentions(text)

    drafts = {text: draft(text) for text in texts} if part == "rules" else {}
    parts: dict[str, Callable[[str], Any]] = {
        "analysis": lambda text: analyzer.analyze(text, None),
        "keywords": lambda text: extract_keywords(
            text, stopwords=stopwords_for(code[text] or ""), top=analyzer.keywords
        ),
        "language": analyzer.language.detect,
        "sentiment": lambda text: analyzer.sentiment.score(
            text, language=code[text], emoji=emoji[text]
        ),
        "readability": lambda text: analyzer.readability.measure(text, language=code[text]),
        "graphemes": counting.graphemes,
        "counts": counts,
        "rules": lambda text: rules.check(drafts[text]),
    }
    return parts[part]


def run_part(part: str, warmup: int, posts: int, measured: bool) -> None:
    """The measured process: warm up, freeze, then analyse the `posts` others, if `measured`.
    Both runs prepare the same inputs, so that only the analyses differ."""
    import corpus

    texts = [post.text for post in corpus.posts(warmup + posts, seed=SEED)]
    one = part_function(part, texts)
    for text in texts[:warmup]:
        one(text)
    gc.freeze()  # as the server does after start, so no full collection lands in one run only
    for text in texts[warmup:] if measured else []:
        one(text)
    # No interpreter shutdown: freeing what the measured posts left behind is not their cost.
    sys.stdout.flush()
    os._exit(0)


def instructions(part: str, warmup: int, posts: int, measured: bool, src: Path | None) -> int:
    done = valgrind.run(
        ["--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"],
        __file__,
        ["--child", part, "--warmup", str(warmup), "--posts", str(posts)]
        + (["--measured"] if measured else []),
        src=src,
    )
    found = I_REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{part}: valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated, of: " + ", ".join(PARTS)
    )
    parser.add_argument("--posts", type=int, default=200, help="posts measured per part")
    parser.add_argument("--warmup", type=int, default=20, help="posts analysed before")
    parser.add_argument("--src", type=Path, help="another checkout's src directory to measure")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--measured", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_part(args.child, args.warmup, args.posts, args.measured)
        return
    valgrind.require()
    parts = [part for part in args.parts.split(",") if part]
    unknown = set(parts) - set(PARTS)
    if unknown or args.posts < 1:
        parser.error(f"unknown parts {sorted(unknown)}" if unknown else "--posts must be >= 1")
    code = args.src.resolve() if args.src else Path(__file__).resolve().parent.parent / "src"
    print(f"code: {code}; {args.posts} posts of bench/corpus.py (seed {SEED}) per part")
    print("| part | M instructions per post |\n|---|---:|")
    for part in parts:
        without = instructions(part, args.warmup, args.posts, False, args.src)
        with_posts = instructions(part, args.warmup, args.posts, True, args.src)
        print(f"| {part} | {(with_posts - without) / args.posts / 1e6:.2f} |", flush=True)


if __name__ == "__main__":
    main()
