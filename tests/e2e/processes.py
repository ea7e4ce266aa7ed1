"""The real `helpdesk run` as a subprocess, with its log in a file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

HELPDESK = Path(sys.executable).with_name("helpdesk")
START_TIMEOUT = 30.0


class HelpdeskProcess:
    """One `helpdesk run` with its output in a file; killed for sure by `close`."""

    def __init__(self, env: dict[str, str], log: Path, *, own_group: bool = False) -> None:
        self.env = env
        self.log = log
        self.own_group = own_group  # a process group of its own, so kill_group reaches all
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                str(HELPDESK),
                "run",
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=self.own_group,
            )
        await self._wait_for_log("helpdesk running")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    async def _wait_for_log(self, marker: str) -> None:
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while marker not in self.text():
            if self.process.returncode is not None:
                raise AssertionError(f"helpdesk exited {self.process.returncode}:\n{self.text()}")
            if loop.time() > deadline:
                raise AssertionError(f"no {marker!r} in {START_TIMEOUT} s:\n{self.text()}")
            await asyncio.sleep(0.05)

    async def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM; the exit code, or an assertion error if it does not stop in time."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            # The log's last lines say which stage of the stop it was waiting in.
            tail = "\n".join(self.text().splitlines()[-40:])
            raise AssertionError(
                f"still running {timeout} s after SIGTERM; log:\n{tail}"
            ) from None

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def kill_group(self) -> None:
        """SIGKILL to the process and its deliverer at once (a machine-wide crash, say)."""
        assert self.process is not None and self.own_group
        os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def close(self) -> None:
        if self.process is None:
            return
        if self.own_group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.returncode is None:
            await self.kill()
