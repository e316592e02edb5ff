"""This script's child under valgrind, run so that two runs of the same code count the same.

For bench/analysis_instructions.py and bench/request_instructions.py: PYTHONHASHSEED=0 and
`setarch -R` (no address randomization) make a run repeatable, and `src`, another checkout's
src directory, goes on PYTHONPATH before the editable install (a baseline in the same session).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path


def require() -> None:
    if shutil.which("valgrind") is None or shutil.which("setarch") is None:
        raise SystemExit("valgrind is not installed: `make bench` installs it")


def run(
    tool: list[str], script: str, child: list[str], *, src: Path | None
) -> subprocess.CompletedProcess[str]:
    """`python script *child` under `valgrind *tool`; its output captured as text."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    command = ["setarch", "-R", "valgrind", *tool, sys.executable, script, *child]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
