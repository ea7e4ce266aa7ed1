"""`helpdesk chat` at a real terminal (a pseudo-terminal): Ctrl-C and the end of input."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpdesk.test_cli import Helpdesk

PROMPT = b"anda> "


def _read_until(fd: int, wanted: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{wanted!r} not seen; got {seen[-300:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            seen += os.read(fd, 4096)
    return seen


def _rest(fd: int) -> bytes:
    """What the terminal shows after the process ended (the read fails once all is read)."""
    seen = b""
    while select.select([fd], [], [], 1.0)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # nothing left, and nobody will write again
            break
        if not chunk:
            break
        seen += chunk
    return seen


@contextmanager
def _chat_in_terminal(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`helpdesk chat` on a pseudo-terminal, at its first prompt; killed if still running."""
    runner = Helpdesk(tmp_path)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*runner.command, "chat"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=runner.cwd,
        env=runner.env,
        start_new_session=True,  # the terminal's Ctrl-C goes to the chat alone
    )
    os.close(terminal)
    try:
        _read_until(controller, PROMPT, timeout=60)
        yield process, controller
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)


def test_ctrl_c_at_the_prompt_ends_the_chat_without_waiting_for_enter(tmp_path: Path) -> None:
    with _chat_in_terminal(tmp_path) as (process, controller):
        os.write(controller, b"halo\r")
        _read_until(controller, PROMPT, timeout=30)  # answered, waiting again

        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C at a terminal does
        status = process.wait(timeout=10)
        rest = _rest(controller)

    assert status == 130
    assert b"Traceback" not in rest


def test_end_of_input_ends_the_line_and_exits_zero(tmp_path: Path) -> None:
    with _chat_in_terminal(tmp_path) as (process, controller):
        os.write(controller, b"\x04")  # Ctrl-D
        status = process.wait(timeout=10)
        rest = _rest(controller)

    assert status == 0
    assert rest.endswith(b"\r\n")  # the shell's prompt will start on a line of its own
