"""What a Ctrl-C prints while an offline build starts its worker processes.

Runs the real CLI on N generated posts (enough for the build to use workers), waits
until the build's first child process exists, then sends SIGINT to the build's whole
process group, as a terminal's Ctrl-C does, after each of a few delays. Prints, per
delay, the exit status (130: interrupted) and how many tracebacks the build printed;
the target is 130 and no traceback at every delay. The delays are what the machine
makes of them, so this is a bench script, not a test.

    python bench/ctrl_c.py [--posts 1200]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.llm_throughput import write_posts  # noqa: E402

DELAYS = (0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4)


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1200)
    args = parser.parse_args()
    flashgen = Path(sys.executable).with_name("flashgen")
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        posts = Path(tmp) / "posts.txt"
        write_posts(posts, args.posts)
        for delay in DELAYS:
            out = Path(tmp) / "out"
            shutil.rmtree(out, ignore_errors=True)
            build = subprocess.Popen(
                [str(flashgen), "build", str(posts), "--out", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            started = time.monotonic()
            while not _children(build.pid) and build.poll() is None:
                if time.monotonic() - started > 120:
                    break
                time.sleep(0.002)
            time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):  # the build may be done
                os.killpg(build.pid, signal.SIGINT)
            _, err = build.communicate(timeout=300)
            tracebacks = err.decode("utf-8", "replace").count("Traceback")
            ok = build.returncode == 130 and tracebacks == 0
            met = met and ok
            print(
                f"  Ctrl-C {delay:.2f} s after the first worker started: exit "
                f"{build.returncode}, {tracebacks} tracebacks{'' if ok else '  (MISSED)'}"
            )
    print(f"{'met' if met else 'MISSED'}: exit 130 and no traceback at every delay")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
