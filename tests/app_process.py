"""The real app as a server: `streamlit run app.py` (or another script) in a subprocess on a
loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from lib.config import PROJECT_ROOT

STARTUP_SECONDS = 60


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AppProcess:
    """`streamlit run <script>` (the product's `app.py` unless told) from `cwd` on `port` (a
    free loopback port unless told), with `env` over this process's environment, `options`
    added to the command line (`--secrets.files ...`) and its output in
    `log_dir/streamlit-<port>.log`.

    Returns once the app answers its health check; raises AssertionError with the end of the
    log when it does not within STARTUP_SECONDS.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        log_dir: Path,
        *,
        script: Path | str = "app.py",
        cwd: Path = PROJECT_ROOT,
        port: int | None = None,
        options: Sequence[str] = (),
    ) -> None:
        self.port = free_port() if port is None else port
        self.log = log_dir / f"streamlit-{self.port}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "streamlit",
                    "run",
                    str(script),
                    "--server.headless",
                    "true",
                    "--server.address",
                    "127.0.0.1",
                    "--server.port",
                    str(self.port),
                    *options,
                ],
                cwd=cwd,
                env={**os.environ, **env},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_healthy()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no lifespan exit, nothing flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """Terminate the app (SIGKILL when it does not exit within 10 s); nothing if it exited."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/_stcore/health", timeout=1).text == "ok":
                    return
            time.sleep(0.1)
        self.stop()
        log = self.log.read_text(errors="replace")
        raise AssertionError(f"the app did not start:\n{log[-3000:]}")
