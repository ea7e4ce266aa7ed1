"""IMAP intake (aioimaplib): each new message stored in `inbound_updates`, then flagged.

The order is what makes intake safe: fetch with BODY.PEEK (nothing is flagged), commit the
raw message together with the mailbox position, and only then set \\Seen. A crash at any
point either leaves the message to be fetched again or has it stored; the unique key on
(channel, external id) keeps a second fetch from making a second ticket.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mail.decode import stored_payload
from mail.imapwire import SIZE, UID, by_size, parse_fetch, storage_key
from storage import mail as mail_store
from storage import queues

logger = logging.getLogger(__name__)

T = TypeVar("T")
StatusCallback = Callable[[str, bool, str], None]
Alert = Callable[[str, bool], Awaitable[None]]  # (detail, recovered)

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_CHUNK = 50
_SLOW_LINK = 50_000  # bytes/s a fetch is allowed for, beyond the usual timeout


class ImapError(Exception):
    """The IMAP session cannot go on; intake reconnects."""


def _no_status(component: str, ok: bool, detail: str) -> None:
    """The default status callback: nobody listens."""


@dataclass(frozen=True)
class ImapOptions:
    """Where the mailbox is and how to wait on it."""

    host: str
    port: int
    username: str
    password: str
    security: str = "ssl"  # ssl or none (aioimaplib cannot STARTTLS)
    folder: str = "INBOX"
    idle: bool = True
    idle_renew: float = 540.0
    poll_interval: float = 60.0
    timeout: float = 30.0
    alert_after: float = 600.0
    reconnect_min: float = 1.0
    reconnect_max: float = 300.0
    tls_context: ssl.SSLContext | None = None

    @property
    def mailbox(self) -> str:
        """The key of this folder's position in the database."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"[:400]


class ImapIntake:
    """Keeps one IMAP session on the helpdesk's folder; reconnects whenever it breaks."""

    def __init__(
        self,
        options: ImapOptions,
        sessions: async_sessionmaker[AsyncSession],
        *,
        on_stored: Callable[[], None] = lambda: None,
        on_status: StatusCallback = _no_status,
        on_alert: Alert | None = None,
    ) -> None:
        self.options = options
        self.sessions = sessions
        self.on_stored = on_stored
        self.on_status = on_status
        self.on_alert = on_alert
        self.stored = 0
        self.connections = 0
        self._failures = 0
        self._down_since: float | None = None
        self._alerted = False
        self._lost = asyncio.Event()

    async def run(self) -> None:
        """Read the mailbox until cancelled; no failure ends it."""
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(exc)

    # -- one session ----------------------------------------------------------------------

    async def _session(self) -> None:
        client = await self._connect()
        try:
            uidvalidity = await self._select(client)
            while True:
                await self._fetch_new(client, uidvalidity)
                await self._ok()
                await self._wait(client)
        finally:
            await self._close(client)

    async def _connect(self) -> aioimaplib.IMAP4:
        options = self.options
        self._lost = asyncio.Event()
        client: aioimaplib.IMAP4
        if options.security == "ssl":
            client = aioimaplib.IMAP4_SSL(
                host=options.host,
                port=options.port,
                timeout=options.timeout,
                ssl_context=options.tls_context,
            )
        else:
            client = aioimaplib.IMAP4(
                host=options.host, port=options.port, timeout=options.timeout
            )
        lost = self._lost
        # Told by the protocol, so a BYE followed by a close ends a wait at once (C27).
        client.protocol.conn_lost_cb = lambda exc: lost.set()
        try:
            await self._bounded(client.wait_hello_from_server(), "greeting")
            response = await self._bounded(
                client.login(options.username, options.password), "login"
            )
            if response.result != "OK":
                raise ImapError(f"login refused for {options.username}")
        except BaseException:
            await self._close(client)
            raise
        self.connections += 1
        logger.info("IMAP connected to %s:%s as %s", options.host, options.port, options.username)
        return client

    async def _select(self, client: aioimaplib.IMAP4) -> int:
        response = await self._bounded(client.select(self.options.folder), "select")
        if response.result != "OK":
            raise ImapError(f"cannot select folder {self.options.folder!r}")
        for line in response.lines:
            found = _UIDVALIDITY.search(bytes(line))
            if found is not None:
                return int(found.group(1))
        raise ImapError("the server named no UIDVALIDITY")

    async def _fetch_new(self, client: aioimaplib.IMAP4, uidvalidity: int) -> None:
        uids = await self._new_uids(client, uidvalidity)
        for start in range(0, len(uids), _FETCH_CHUNK):
            sizes = await self._sizes(client, uids[start : start + _FETCH_CHUNK])
            for batch, total in by_size(sizes):
                fetched = await self._fetch(client, batch, total)
                await self._store(fetched, uidvalidity, last_uid=max(batch))
                self.on_stored()
                # Only now, with the messages committed, may they be flagged (C30).
                await self._flag_seen(client, [uid for uid, _ in fetched])

    async def _sizes(self, client: aioimaplib.IMAP4, uids: list[int]) -> list[tuple[int, int]]:
        """(UID, size) of each message, so a fetch holds a bounded amount of mail."""
        uid_set = ",".join(str(uid) for uid in uids)
        response = await self._bounded(
            client.uid("fetch", uid_set, "(UID RFC822.SIZE)"), "fetch sizes"
        )
        if response.result != "OK":
            raise ImapError(f"UID FETCH RFC822.SIZE refused: {response.lines[-1:]!r}")
        sizes = {}
        for line in response.lines:
            uid, size = UID.search(bytes(line)), SIZE.search(bytes(line))
            if uid is not None and size is not None:
                sizes[int(uid.group(1))] = int(size.group(1))
        return [(uid, sizes.get(uid, 0)) for uid in uids]

    async def _new_uids(self, client: aioimaplib.IMAP4, uidvalidity: int) -> list[int]:
        async with self.sessions() as session:
            state = await mail_store.mailbox_state(session, self.options.mailbox)
        if state is not None and state.uidvalidity == uidvalidity:
            last = state.last_uid
            criteria = f"UID {last + 1}:*"
        else:
            if state is not None:
                logger.warning(
                    "UIDVALIDITY of %s changed (%s -> %s): reading unseen mail only; "
                    "messages stored before are recognised by Message-ID",
                    self.options.folder, state.uidvalidity, uidvalidity,
                )  # fmt: skip
            last, criteria = 0, "UNSEEN"
        response = await self._bounded(client.uid_search(criteria, charset=None), "search")
        if response.result != "OK":
            raise ImapError(f"UID SEARCH {criteria} refused")
        numbers = bytes(response.lines[0]).split() if response.lines else []
        # "n:*" names the newest message even when its UID is below n.
        return sorted(uid for uid in (int(n) for n in numbers if n.isdigit()) if uid > last)

    async def _fetch(
        self, client: aioimaplib.IMAP4, uids: list[int], size: int
    ) -> list[tuple[int, bytes]]:
        uid_set = ",".join(str(uid) for uid in uids)
        # A big message on a slow link may take long; a bounded wait must still let it finish.
        limit = self.options.timeout * 4 + size / _SLOW_LINK
        response = await self._bounded(
            client.uid("fetch", uid_set, "(UID BODY.PEEK[])"), "fetch", limit=limit
        )
        if response.result != "OK":
            raise ImapError(f"UID FETCH refused: {response.lines[-1:]!r}")
        fetched = parse_fetch(response.lines)
        missing = set(uids) - {uid for uid, _ in fetched}
        if missing:
            # Expunged between SEARCH and FETCH; nothing to store for them.
            logger.info("UIDs %s vanished before they were fetched", sorted(missing))
        return fetched

    async def _store(
        self, fetched: list[tuple[int, bytes]], uidvalidity: int, *, last_uid: int
    ) -> None:
        items = [
            (
                storage_key(raw),
                stored_payload(
                    raw, uid=uid, uidvalidity=uidvalidity, mailbox=self.options.mailbox
                ),
            )
            for uid, raw in fetched
        ]
        async with self.sessions.begin() as session:
            new = await queues.store_inbound(session, "email", items)
            await mail_store.save_position(
                session, self.options.mailbox, uidvalidity=uidvalidity, last_uid=last_uid
            )
        self.stored += new
        if len(items) != new:
            logger.info("%s fetched messages were stored before", len(items) - new)

    async def _flag_seen(self, client: aioimaplib.IMAP4, uids: list[int]) -> None:
        if not uids:
            return
        uid_set = ",".join(str(uid) for uid in uids)
        response = await self._bounded(
            client.uid("store", uid_set, "+FLAGS.SILENT", "(\\Seen)"), "store"
        )
        if response.result != "OK":
            # Stored already, so nothing is lost: the flag only helps people reading along.
            logger.warning("could not flag %s as seen: %r", uid_set, response.lines[-1:])

    # -- waiting for news -----------------------------------------------------------------

    async def _wait(self, client: aioimaplib.IMAP4) -> None:
        if self.options.idle and client.has_capability("IDLE"):
            await self._idle(client)
            return
        await asyncio.sleep(self.options.poll_interval)
        response = await self._bounded(client.noop(), "noop")
        if response.result != "OK":
            raise ImapError("NOOP refused")

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        renew = self.options.idle_renew
        idle = await self._bounded(client.idle_start(timeout=renew), "idle")
        try:
            # wait_server_push ends by itself at `renew` (aioimaplib's stop marker); the
            # extra margin only matters if that marker never comes.
            push = await self._bounded(
                client.wait_server_push(timeout=renew + self.options.timeout),
                "idle wait",
                limit=renew + 2 * self.options.timeout,
            )
        finally:
            if client.has_pending_idle():
                client.idle_done()
        if any(b"BYE" in bytes(line) for line in _lines(push)):
            raise ImapError("server ended the session during IDLE (BYE)")
        await self._bounded(asyncio.shield(idle), "idle done")

    # -- health ---------------------------------------------------------------------------

    async def _ok(self) -> None:
        self.on_status("imap", True, "mailbox read")
        recovered = self._alerted
        self._failures, self._down_since, self._alerted = 0, None, False
        if recovered:
            logger.warning("email intake works again (%s)", self.options.host)
            await self._alert("email intake works again", recovered=True)

    async def _failed(self, exc: Exception) -> None:
        self._failures += 1
        detail = f"{type(exc).__name__}: {exc}"
        self.on_status("imap", False, detail)
        now = time.monotonic()
        self._down_since = self._down_since or now
        down_for = now - self._down_since
        if not self._alerted and down_for >= self.options.alert_after:
            self._alerted = True
            logger.warning("email intake has not worked for %.0f s: %s", down_for, detail)
            await self._alert(detail, recovered=False)
        delay = min(
            self.options.reconnect_max, self.options.reconnect_min * 2 ** (self._failures - 1)
        )
        delay *= random.uniform(0.5, 1.0)  # jitter: not every client back at the same moment
        log = (
            logger.warning if self._failures in (1, 5) or self._failures % 20 == 0 else logger.info
        )
        log("IMAP session failed (%s in a row): %s; reconnecting in %.1f s",
            self._failures, detail, delay)  # fmt: skip
        await asyncio.sleep(delay)

    async def _alert(self, detail: str, *, recovered: bool) -> None:
        if self.on_alert is None:
            return
        try:
            await self.on_alert(detail, recovered)
        except Exception:  # telling staff must not stop intake; the WARNING above stands
            logger.exception("could not queue the staff alert about email intake")

    # -- plumbing -------------------------------------------------------------------------

    async def _bounded(
        self,
        step: Awaitable[T] | Coroutine[Any, Any, T],
        what: str,
        *,
        limit: float | None = None,
    ) -> T:
        """Every wait has an end: the step's answer, a lost connection or a timeout."""
        task = asyncio.ensure_future(step)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, lost},
                timeout=limit or self.options.timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            lost.cancel()
        if task in done:
            return task.result()
        task.cancel()
        reason = "connection lost" if lost in done else "no answer in time"
        raise ImapError(f"IMAP {what}: {reason}")

    async def _close(self, client: aioimaplib.IMAP4) -> None:
        if not self._lost.is_set():
            try:
                await asyncio.wait_for(client.logout(), timeout=min(5.0, self.options.timeout))
            except Exception:  # the session is being abandoned anyway
                logger.debug("IMAP logout failed", exc_info=True)
        # Whatever the server did, our end of the socket is closed here, never left open.
        transport = client.protocol.transport
        if transport is not None:
            transport.close()


def _lines(response: Any) -> list[Any]:
    return list(response) if isinstance(response, list) else list(getattr(response, "lines", []))
