"""A throw-away Dovecot IMAP server on 127.0.0.1 for tests of the email channel."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType

import pytest

DEFAULT_USER = "helpdesk@example.test"
DEFAULT_PASSWORD = "password"
INSTALL_HINT = "run .ci/install-mail-deps to install Dovecot"

_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")

_CONFIG = """\
# Written by tests/mailservers/dovecot.py; nothing here is read from /etc/dovecot.
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
instance_name = sunari-{port}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
debug_log_path = {root}/dovecot.log
default_internal_user = {internal_user}
default_login_user = {login_user}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests open several sessions per user (IDLE plus a fetching client plus helpers).
mail_max_userip_connections = 100
mail_location = maildir:~/Maildir
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}

namespace inbox {{
  inbox = yes
}}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}

service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{chroot}}}
service anvil {{
{chroot}}}
"""


class DovecotError(RuntimeError):
    """Dovecot did not start, stop or answer as a test needed."""


def find_dovecot() -> str | None:
    """Path of the dovecot binary, looking in /usr/sbin too (not on every user's PATH)."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def require_dovecot() -> str:
    """Path of dovecot, or skip the test; in CI a missing Dovecot fails instead of skipping."""
    binary = find_dovecot()
    if binary is not None:
        return binary

    message = f"dovecot is not installed: {INSTALL_HINT}"
    if os.environ.get("CI") == "true":
        # A CI run that quietly skips every mail test would report green for nothing.
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port(host: str = "127.0.0.1") -> int:
    """An unprivileged TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _quote(mailbox: str) -> str:
    # imaplib sends mailbox names verbatim, so names with spaces need quoting here.
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DovecotServer:
    """Dovecot on 127.0.0.1 with its own config, users and maildirs in one folder.

    Start and stop are synchronous so pytest fixtures can call them; ``async with`` runs
    them in a worker thread. The maildirs survive ``stop()``/``restart()`` and are removed
    by ``close()``.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.binary = find_dovecot()
        if self.binary is None:
            raise DovecotError(f"dovecot is not installed: {INSTALL_HINT}")

        self.host = host
        self.port = port or free_port(host)
        self.users: dict[str, str] = dict(users or {DEFAULT_USER: DEFAULT_PASSWORD})
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.root = self._make_root()
        self._process: subprocess.Popen[bytes] | None = None
        self._paused: set[int] = set()

        self._write_config()
        self._write_users()

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def user(self) -> str:
        """The first user, the one helpers act as by default."""
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.user]

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the master process and return once the IMAP greeting arrives."""
        if self.running:
            return

        assert self.binary is not None
        # Output to a file: the daemon keeps inherited fds open, so a pipe would never close.
        with open(self.root / "dovecot.out", "ab") as out:
            self._process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def stop(self) -> None:
        """SIGTERM Dovecot, wait a bounded time, then SIGKILL whatever is left of it."""
        process = self._process
        if process is None:
            return

        self.resume_connections()  # a stopped child would hold up the shutdown
        # The master runs in a session of its own, so its process group is Dovecot alone.
        # SIGTERM to the master only takes 1.1 s: it waits for its log process, which
        # lingers a second; signalling the whole group ends everything in about 0.1 s.
        _kill_group(process.pid, signal.SIGTERM)
        try:
            process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid, signal.SIGKILL)
            process.wait(self.stop_timeout)

        # A child still holding the listening socket would make a restart fail to bind.
        self._wait_until_gone(lambda: _processes(group=process.pid), signal.SIGKILL)
        self._process = None

    def restart(self) -> None:
        """Stop and start on the same port, keeping the mailboxes (and UIDVALIDITY)."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and remove its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> DovecotServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of Dovecot's own log and of its start-up output, for error messages."""
        chunks = []
        for path in (self.root / "dovecot.out", self.log_path):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(chunks) or "(no log written)"

    # -- users ----------------------------------------------------------------------------

    def add_user(self, user: str, password: str) -> None:
        """Add a login; Dovecot re-reads the passwd-file on change, no restart needed."""
        self.users[user] = password
        self._write_users()

    # -- mailbox helpers (stdlib imaplib, blocking) ---------------------------------------

    def append(
        self,
        raw: bytes,
        *,
        user: str | None = None,
        folder: str = "INBOX",
        flags: Iterable[str] = (),
    ) -> int:
        """APPEND a message as a client would deliver it; returns its UID."""
        flag_list = "(" + " ".join(flags) + ")"
        with self._imap(user) as conn:
            if folder.upper() != "INBOX":
                conn.create(_quote(folder))  # NO [ALREADYEXISTS] is fine
            status, data = conn.append(_quote(folder), flag_list, None, raw)
        if status != "OK":
            raise DovecotError(f"APPEND failed: {data!r}")

        match = _APPENDUID.search(b" ".join(d for d in data if isinstance(d, bytes)))
        if match is None:
            raise DovecotError(f"APPEND answered without APPENDUID: {data!r}")
        return int(match.group(1))

    def uids(self, folder: str = "INBOX", *, user: str | None = None) -> list[int]:
        """UIDs of every message in the folder, in order."""
        with self._imap(user) as conn:
            self._examine(conn, folder)
            _, data = conn.uid("SEARCH", "ALL")
        return [int(uid) for uid in (data[0] or b"").split()]

    def flags(self, uid: int, *, folder: str = "INBOX", user: str | None = None) -> set[str]:
        """Flags of one message, read without changing them (EXAMINE is read-only)."""
        with self._imap(user) as conn:
            self._examine(conn, folder)
            _, data = conn.uid("FETCH", str(uid), "(FLAGS)")
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            match = _FLAGS.search(line) if isinstance(line, bytes) else None
            if match is not None:
                return set(match.group(1).decode().split())
        raise DovecotError(f"no message with UID {uid} in {folder}")

    def message_count(self, folder: str = "INBOX", *, user: str | None = None) -> int:
        with self._imap(user) as conn:
            return self._examine(conn, folder)

    # -- connection faults ----------------------------------------------------------------

    def drop_connections(self, *, graceful: bool = False) -> int:
        """Kill every IMAP session process; returns how many.

        By default SIGKILL, so clients see the socket close with no ``BYE``; with
        ``graceful=True`` SIGTERM, so Dovecot says ``* BYE`` first, as on a real shutdown.
        """
        pids = self._session_pids()
        self.resume_connections()
        for pid in pids:
            self._signal(pid, signal.SIGTERM if graceful else signal.SIGKILL)

        self._wait_until_gone(lambda: sorted(set(pids) & set(_processes())), None)
        return len(pids)

    def pause_connections(self) -> int:
        """SIGSTOP the IMAP sessions: a half-open link, the kernel ACKs but nothing answers."""
        pids = self._session_pids()
        for pid in pids:
            self._signal(pid, signal.SIGSTOP)
        self._paused.update(pids)
        return len(pids)

    def resume_connections(self) -> None:
        for pid in self._paused:
            self._signal(pid, signal.SIGCONT)
        self._paused.clear()

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _make_root() -> Path:
        # Dovecot's auth and mail processes run as other users and must traverse every folder
        # on the way: so /tmp rather than $TMPDIR (often a private 0700 folder), and 0755
        # rather than mkdtemp's 0700.
        root = Path(tempfile.mkdtemp(prefix="sunari-dovecot-", dir="/tmp"))
        root.chmod(0o755)
        return root

    def _ids(self) -> tuple[str, str, int, int]:
        """Internal user, login user, mail uid and gid for this process's privileges."""
        if os.geteuid() != 0:
            # Unprivileged Dovecot cannot switch users: everything runs as us.
            me = pwd.getpwuid(os.geteuid()).pw_name
            return me, me, os.geteuid(), os.getegid()

        # Mail processes may not run as root or as Dovecot's internal user; nobody is neither.
        nobody = pwd.getpwnam("nobody")
        return "dovecot", "dovenull", nobody.pw_uid, nobody.pw_gid

    def _write_config(self) -> None:
        internal_user, login_user, mail_uid, mail_gid = self._ids()
        mail = self.root / "mail"
        mail.mkdir(mode=0o755)
        if os.geteuid() == 0:
            os.chown(mail, mail_uid, mail_gid)

        # chroot needs root; unprivileged, the login and anvil services must not try it.
        chroot = "" if os.geteuid() == 0 else "  chroot =\n"
        self.config_path.write_text(
            _CONFIG.format(
                host=self.host,
                port=self.port,
                root=self.root,
                internal_user=internal_user,
                login_user=login_user,
                mail_uid=mail_uid,
                mail_gid=mail_gid,
                chroot=chroot,
            )
        )

    def _write_users(self) -> None:
        lines = []
        for user, password in self.users.items():
            if ":" in user + password or "\n" in user + password:
                raise ValueError("passwd-file entries cannot hold ':' or newlines")
            lines.append(f"{user}:{{PLAIN}}{password}::::::\n")

        # Write then rename so the auth process never reads half a file.
        tmp = self.root / "users.tmp"
        tmp.write_text("".join(lines))
        tmp.chmod(0o644)
        tmp.replace(self.root / "users")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise DovecotError(f"dovecot exited with {code}:\n{self.log_tail()}")
            if self._greets():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise DovecotError(
                    f"dovecot did not greet on {self.host}:{self.port} within "
                    f"{self.start_timeout} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)  # a synchronous start has nothing to wake on but the port

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                greeted = sock.recv(64).startswith(b"* OK")
                sock.sendall(b"z LOGOUT\r\n")  # spares the log a "connection reset" line
                return greeted
        except OSError:
            return False

    def _imap(self, user: str | None) -> _Session:
        name = user or self.user
        return _Session(self.host, self.port, name, self.users[name])

    @staticmethod
    def _examine(conn: imaplib.IMAP4, folder: str) -> int:
        status, data = conn.select(_quote(folder), readonly=True)
        if status != "OK":
            raise DovecotError(f"EXAMINE {folder} failed: {data!r}")
        return int(data[0] or b"0")

    def _session_pids(self) -> list[int]:
        """Pids of the master's children that serve a logged-in IMAP session."""
        if self._process is None or self._process.poll() is not None:
            return []
        return _processes(parent=self._process.pid, comm="imap")

    def _wait_until_gone(
        self, alive: Callable[[], list[int]], last_resort: signal.Signals | None
    ) -> None:
        deadline = time.monotonic() + self.stop_timeout
        while pids := alive():
            if time.monotonic() > deadline:
                if last_resort is None:
                    raise DovecotError(f"Dovecot processes {pids} outlived their signal")
                for pid in pids:
                    self._signal(pid, last_resort)
                last_resort = None  # one SIGKILL round, then report what survives it
                deadline = time.monotonic() + self.stop_timeout
            time.sleep(0.02)  # processes exit within milliseconds of their signal

    @staticmethod
    def _signal(pid: int, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # it may have ended on its own
            os.kill(pid, signum)


class _Session:
    """A logged-in imaplib connection closed on exit, for the blocking helpers."""

    def __init__(self, host: str, port: int, user: str, password: str) -> None:
        self._conn = imaplib.IMAP4(host, port, timeout=10)
        try:
            self._conn.login(user, password)
        except BaseException:
            self._conn.shutdown()  # an unclosed socket is a ResourceWarning, an error here
            raise

    def __enter__(self) -> imaplib.IMAP4:
        return self._conn

    def __exit__(self, *exc_info: object) -> None:
        # The test may have killed the server under us: nothing is left to log out of.
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self._conn.logout()


def _kill_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pgid, signum)


def _processes(
    *, parent: int | None = None, group: int | None = None, comm: str | None = None
) -> list[int]:
    """Live (not zombie) pids matching every given criterion, read from /proc."""
    return [
        pid
        for pid, (name, ppid, pgrp) in _proc_table()
        if (parent is None or ppid == parent)
        and (group is None or pgrp == group)
        and (comm is None or name == comm)
    ]


def _proc_table() -> Iterator[tuple[int, tuple[str, int, int]]]:
    """(pid, (comm, ppid, pgrp)) of each live process; zombies wait on a reaper, not us."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while we looked
        # comm sits in parentheses and may hold spaces or ')': split after the last ')'.
        name = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if state != "Z":
            yield int(stat.parent.name), (name, int(ppid), int(pgrp))


@pytest.fixture(name="dovecot_server")
def dovecot_server_fixture() -> Iterator[DovecotServer]:
    """A fresh Dovecot per test; skips without Dovecot (fails in CI)."""
    require_dovecot()
    server = DovecotServer()
    try:
        server.start()
        yield server
    finally:
        server.close()
