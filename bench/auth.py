"""Sign-in costs: argon2id hash and check times (they also bound a password guesser: one
check per core at a time), and what the gate adds to a page run (AppTest of dashboard.py:
open mode vs a signed-in supervisor, the realtime page on a seeded store).

    .venv/bin/python bench/auth.py                 # 20 hashes/checks, 10 page runs each
    .venv/bin/python bench/auth.py --runs 40

Results go to stdout as Markdown (bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streamlit.testing.v1 import AppTest  # noqa: E402

from auth.gate import SESSION_KEY  # noqa: E402
from auth.passwords import _hasher, check, hash_password  # noqa: E402
from auth.roles import User  # noqa: E402
from settings import UserSettings  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.auth.conftest import call  # noqa: E402


def timed(work: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        out.append((time.perf_counter() - start) * 1000)
    return out


def row(label: str, ms: list[float]) -> str:
    return f"| {label} | {statistics.median(ms):.1f} | {max(ms):.1f} | {len(ms)} |"


def page_run(user: User | None) -> Callable[[], object]:
    def run() -> None:
        at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=60)
        if user is not None:
            at.session_state[SESSION_KEY] = user
        at.run()
        assert not at.exception

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    password = "correct horse battery staple"
    digest = hash_password(password)
    ann = [UserSettings("ann", "supervisor", ("support",), "", digest)]
    print(f"argon2id parameters: t={_hasher.time_cost}, m={_hasher.memory_cost} KiB, "
          f"p={_hasher.parallelism}", file=sys.stderr)  # fmt: skip
    lines = ["| what | median ms | max ms | runs |", "|---|---|---|---|"]
    lines.append(row("hash a password (`python -m auth hash`)",
                     timed(lambda: hash_password(password), args.runs)))  # fmt: skip
    lines.append(row("sign in, right password", timed(lambda: check("ann", password, ann),
                                                          args.runs)))  # fmt: skip
    # Wrong passwords for a name that exists and one that does not take the same time (the
    # unknown name is checked against a dummy hash); a few, below the lockout.
    lines.append(row("sign in, wrong password", timed(lambda: check("ann", "x", ann), 4)))
    lines.append(row("sign in, unknown name", timed(lambda: check("zed", "x", ann), 4)))
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "users.toml"
        config.write_text(f'[[user]]\nname = "ann"\nrole = "supervisor"\n'
                          f'queues = ["support"]\npassword_hash = "{digest}"\n')  # fmt: skip
        with Store(Path(folder) / "cb.duckdb", flush_interval_s=0.05) as store:
            for i in range(200):
                store.put(call("support" if i % 2 else "sales", f"{i}.1"))
            store.flush()
            runs = max(args.runs // 2, 3)
            os.environ.pop("CALLBOARD_CONFIG", None)
            page_run(None)()  # warm imports and caches
            open_ms = timed(page_run(None), runs)
            os.environ["CALLBOARD_CONFIG"] = str(config)
            sam = User("ann", frozenset({"supervisor"}), frozenset({"support"}), "password")
            signed_ms = timed(page_run(sam), runs)
    lines.append(row("realtime page run, no sign-in configured (AppTest)", open_ms))
    lines.append(row("realtime page run, signed-in supervisor (AppTest)", signed_ms))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
