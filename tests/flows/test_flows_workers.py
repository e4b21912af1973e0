"""Issue 12 item 7: worker processes (and the resource tracker) do not outlive a killed run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil

SCRIPT = """
import json, os, signal, sys
import psutil
from models import featurize

if __name__ == "__main__":
    featurize.warm_pool(None, workers=2)
    children = [p.pid for p in psutil.Process().children(recursive=True)]
    print(json.dumps(children), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_pool_workers_exit_when_the_run_is_killed(tmp_path):
    script = tmp_path / "killed_run.py"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "out.txt"
    with out.open("w") as fh:
        # stdout to a file, not a pipe: orphaned workers would hold a pipe open forever
        subprocess.Popen([sys.executable, str(script)], stdout=fh, env=dict(os.environ)).wait(timeout=180)
    children = json.loads(out.read_text().strip().splitlines()[-1])
    assert len(children) >= 2
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.5)
    left = [pid for pid in children if _alive(pid)]
    for pid in left:
        psutil.Process(pid).kill()
    assert not left, f"still alive after the run was killed: {left}"


def test_raw_records_of_a_killed_run_are_removed_by_the_next_run(product_env, tmp_path):
    from flows import partitions

    base = partitions.work_dir("2026-11-20", "deadbeef")
    (base / "records").mkdir(parents=True)
    (base / "records" / "part-00000.pkl").write_bytes(b"raw")
    (base / partitions.OWNER).write_text(
        json.dumps({"host": __import__("socket").gethostname(), "pid": 2**22 + 7})
    )
    alive = partitions.work_dir("2026-11-20", "cafef00d")
    (alive / "records").mkdir(parents=True)
    (alive / partitions.OWNER).write_text(
        json.dumps({"host": __import__("socket").gethostname(), "pid": os.getpid()})
    )
    assert partitions.remove_orphaned_records("2026-11-20") == ["deadbeef"]
    assert not (base / "records").exists() and (alive / "records").exists()
