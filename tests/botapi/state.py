"""What the fake Bot API knows and records: chats, messages, files, sends, calls, faults."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import BLOCKED, CHAT_NOT_FOUND, ApiError, bad_request
from .updates import UpdateQueue

Json = dict[str, Any]
Params = dict[str, Any]
Rows = list[list[Json]]


class Call(NamedTuple):
    """One Bot API request as the server received it (files shown as their names)."""

    method: str
    params: Params


@dataclass
class SentMessage:
    """A message the bot sent or edited; text is the plain text after entity parsing."""

    method: str
    chat_id: int
    message_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    reply_markup: Rows | None
    reply_to_message_id: int | None
    date: int
    entities: list[Json] = field(default_factory=list)
    message: Json = field(default_factory=dict)
    at: float = 0.0

    @property
    def buttons(self) -> list[Json]:
        """Every inline button, row after row."""
        return [button for row in self.reply_markup or [] for button in row]


@dataclass
class Fault:
    """An error to answer the next matching calls with, after letting `skip` of them pass."""

    method: str
    error: ApiError
    times: int
    chat_id: int | str | None
    skip: int

    def matches(self, method: str, params: Params) -> bool:
        if method != self.method:
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)


@dataclass
class StoredFile:
    """A file the server can hand out through getFile and base_file_url."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_name: str
    mime_type: str


class BotState:
    """Chats, users, messages and recordings; the HTTP layer and the test helpers share it."""

    def __init__(self, token: str, username: str, first_name: str) -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot: Json = {
            "id": int(bot_id) if bot_id.isdigit() else 7000000001,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.chats: dict[int, Json] = {}
        self.users: dict[int, Json] = {}
        self.messages: dict[tuple[int, int], Json] = {}
        self.files: dict[str, StoredFile] = {}
        self.queries: dict[str, Json] = {}
        self.updates = UpdateQueue()

        self.sent: list[SentMessage] = []
        self.edits: list[SentMessage] = []
        self.deleted: list[tuple[int, int]] = []
        self.answers: list[Params] = []
        self.actions: list[Params] = []
        self.calls: list[Call] = []
        self.webhook: Params = {}
        self.commands: list[Json] = []

        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.faults: list[Fault] = []
        self.flood_until: dict[str, float] = {}
        self.retry_violations = 0
        self.strict_retry_after = True
        self.delay = 0.0

        self._ids = itertools.count(1)
        self._last_message_id: dict[int, int] = {}
        self._changed = asyncio.Event()

    # -- chats and users -------------------------------------------------------------

    def remember_chat(self, chat: Json) -> Json:
        """Register a chat object (private, group, supergroup or channel) by its id."""
        known = self.chats.setdefault(chat["id"], dict(chat))
        return known

    def remember_user(self, user: Json) -> Json:
        return self.users.setdefault(user["id"], dict(user))

    def chat_for(self, chat_id: Any) -> Json:
        """The chat a chat_id parameter names, or the errors Telegram gives for it."""
        chat = self._lookup(chat_id)
        if chat is None:
            raise bad_request(CHAT_NOT_FOUND)
        if chat["id"] in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat["id"]]},
            )
        return chat

    def _lookup(self, chat_id: Any) -> Json | None:
        text = str(chat_id or "")
        if text.startswith("@"):
            wanted = text[1:].lower()
            return next(
                (c for c in self.chats.values() if (c.get("username") or "").lower() == wanted),
                None,
            )
        try:
            return self.chats.get(int(text))
        except ValueError:
            return None

    def check_reachable(self, chat: Json) -> None:
        if chat["id"] in self.blocked:
            raise ApiError(403, BLOCKED)

    def learn_from(self, value: Any) -> None:
        """Register every chat, user and message found inside a raw update."""
        if isinstance(value, list):
            for item in value:
                self.learn_from(item)
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            if key in ("chat", "sender_chat") and isinstance(item, dict) and "type" in item:
                self.remember_chat(item)
            elif key in ("from", "user") and isinstance(item, dict) and "is_bot" in item:
                self.remember_user(item)
            elif key == "file_id" and isinstance(item, str) and item not in self.files:
                self.add_file(b"fake file " + item.encode(), file_id=item)
            self.learn_from(item)
        if "message_id" in value and isinstance(value.get("chat"), dict):
            self.store_message(value)

    # -- messages ----------------------------------------------------------------------

    def next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def store_message(self, message: Json) -> None:
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        self.messages[(chat_id, message_id)] = message
        # Ids in a chat only grow, whoever wrote the message.
        self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)

    def message_in(self, chat: Json, message_id: Any, missing: str) -> Json:
        try:
            return self.messages[(chat["id"], int(message_id))]
        except (KeyError, TypeError, ValueError):
            raise bad_request(missing) from None

    def record(self, entry: SentMessage, *, edit: bool = False) -> None:
        (self.edits if edit else self.sent).append(entry)
        self.changed()

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to one chat, in order (edits are in `edits`)."""
        return [entry for entry in self.sent if entry.chat_id == chat_id]

    # -- files ---------------------------------------------------------------------------

    def add_file(
        self,
        data: bytes,
        *,
        file_name: str = "file.bin",
        mime_type: str = "application/octet-stream",
        file_id: str | None = None,
    ) -> StoredFile:
        """Store bytes that getFile and the file URL will serve; returns the stored file."""
        number = next(self._ids)
        stored = StoredFile(
            file_id=file_id or f"BQACAgUAAx0Fake{number:06d}",
            file_unique_id=f"AgADFake{number:06d}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def new_id(self) -> int:
        return next(self._ids)

    # -- waiting ---------------------------------------------------------------------

    def changed(self) -> None:
        """Wake every wait_for; called after each request and each recording."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        """Return once predicate() holds, re-checked whenever the server records something."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            event = self._changed
            try:
                async with asyncio.timeout(max(remaining, 0)):  # wait_for may drop a cancel
                    await event.wait()
            except TimeoutError:
                if predicate():
                    return
                recent = [(m.chat_id, m.text[:60]) for m in self.sent[-5:]]
                raise TimeoutError(
                    f"condition not met after {timeout} s; last sends: {recent}"
                ) from None

    async def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 10
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least count messages to chat_id; return them all."""
        await self.wait_for(lambda: len(self.messages_to(chat_id)) >= count, timeout)
        return self.messages_to(chat_id)

    def now(self) -> int:
        return int(time.time())

    def monotonic(self) -> float:
        return time.monotonic()
