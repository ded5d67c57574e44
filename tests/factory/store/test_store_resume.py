"""A store write killed between its parts and its manifest resumes to exactly the uninterrupted rows."""

import os
import signal
import subprocess
import sys
import textwrap

from factory.store import Store

WRITER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, sys.argv[3])
    from factory.store import Store, TableWriter
    from helpers import full_rows
    store = Store(sys.argv[1])
    kill_after = int(sys.argv[2])
    with TableWriter(store, "rollouts", stage="rollouts", config={"n": 8}, rows_per_part=10) as writer:
        for start in range(0, 100, 10):
            writer.write(full_rows("rollouts", 10, start=start))
            if kill_after and start + 10 >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
        writer.commit()
""")


def run_writer(root, kill_after, tests_dir):
    return subprocess.run([sys.executable, "-c", WRITER, str(root), str(kill_after), str(tests_dir)],
                          capture_output=True, text=True)


def test_killed_write_resumes_to_the_uninterrupted_rows(tmp_path):
    tests_dir = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    killed = run_writer(tmp_path / "a", 40, tests_dir)
    assert killed.returncode == -signal.SIGKILL
    interrupted = Store(tmp_path / "a")
    assert interrupted.latest("rollouts") is None  # no half version is visible
    assert len(interrupted.pending_parts("rollouts", _run_key())) == 4
    assert run_writer(tmp_path / "a", 0, tests_dir).returncode == 0
    assert run_writer(tmp_path / "b", 0, tests_dir).returncode == 0
    resumed, clean = Store(tmp_path / "a").read("rollouts"), Store(tmp_path / "b").read("rollouts")
    ids = resumed.column("rollout_id").to_pylist()
    assert len(ids) == len(set(ids)) == 100
    assert sorted(ids) == sorted(clean.column("rollout_id").to_pylist())
    assert sorted(resumed.to_pylist(), key=str) == sorted(clean.to_pylist(), key=str)


def _run_key():
    from factory.store import run_key_for

    return run_key_for("rollouts", "rollouts", {"n": 8}, "append")
