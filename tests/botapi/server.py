"""FakeBotApi: a Telegram Bot API server on 127.0.0.1 for end-to-end tests and benchmarks."""

from __future__ import annotations

import asyncio
import json
import math
import re
from types import TracebackType

from aiohttp import web

from .errors import ApiError, bad_request
from .methods import METHODS, Upload, file_path
from .state import BotState, Call, Fault, Json, Params, SentMessage

JSON_FIELDS = (
    "reply_markup",
    "entities",
    "caption_entities",
    "allowed_updates",
    "reply_parameters",
    "link_preview_options",
    "commands",
)
COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}
NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}


def _reply(body: Json, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
    )


async def _read_params(request: web.Request) -> Params:
    """Parameters from the query, a JSON body, a form or a multipart body; JSON fields decoded."""
    params: Params = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.can_read_body:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                params[key] = Upload(value.filename, value.file.read(), value.content_type)
            else:
                params[key] = value
    for key in JSON_FIELDS:
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                raise bad_request(f"can't parse {key} JSON object") from None
    return params


class FakeBotApi(BotState):
    """Serves the Bot API over real HTTP; the test drives users and inspects what the bot did.

    It never assumes the bot runs in the same process: a bot in a subprocess only needs
    base_url, base_file_url and the token.
    """

    def __init__(
        self,
        token: str = "123456789:TEST-token",
        *,
        username: str = "unr_helpdesk_bot",
        first_name: str = "SUNARI Helpdesk",
        delay: float = 0.0,
    ) -> None:
        super().__init__(token, username, first_name)
        self.delay = delay
        self.port = 0
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._serve_file)
        # No access log: every URL carries the token. Cancel long polls whose client left.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.updates.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder().base_url() or Bot(base_url=...); PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- HTTP --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _reply(UNAUTHORIZED, 401)
        found = METHODS.get(request.match_info["method"].lower())
        if found is None:
            return _reply(NOT_FOUND, 404)
        name, method = found

        try:
            params = await _read_params(request)
            self.calls.append(Call(name, dict(params)))
            params["_method"] = name
            if self.delay:
                await asyncio.sleep(self.delay)
            self._check_faults(name, params)
            result = await method(self, params)
        except ApiError as error:
            return _reply(error.payload(), error.error_code)
        finally:
            self.changed()
        return _reply({"ok": True, "result": result})

    async def _serve_file(self, request: web.Request) -> web.Response:
        wanted = request.match_info["path"]
        if request.match_info["token"] == self.token:
            for stored in self.files.values():
                if file_path(stored) == wanted:
                    return web.Response(body=stored.data, content_type=stored.mime_type)
        return _reply(NOT_FOUND, 404)

    def _check_faults(self, name: str, params: Params) -> None:
        """Raise an injected error, or 429 again while an earlier retry_after has not passed."""
        key = str(params.get("chat_id", ""))
        until = self.flood_until.get(key, 0.0)
        if key and self.strict_retry_after and self.monotonic() < until:
            self.retry_violations += 1
            wait = math.ceil(until - self.monotonic())
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        for fault in self.faults:
            if not fault.matches(name, params):
                continue
            if fault.skip:
                fault.skip -= 1
                return
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            retry_after = (fault.error.parameters or {}).get("retry_after")
            if key and retry_after:
                self.flood_until[key] = self.monotonic() + retry_after
            raise fault.error

    # -- fault injection ---------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        parameters: Json | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        skip: int = 0,
    ) -> None:
        """Answer the next `times` calls of method (to chat_id, if given) with this error.

        `skip` lets that many matching calls succeed first ("the 25th sendMessage fails").
        A 429 with retry_after also refuses further calls to that chat until it has passed,
        as Telegram does; such early calls are counted in retry_violations.
        """
        name = METHODS[method.lower()][0]
        error = ApiError(error_code, description, parameters)
        self.faults.append(Fault(name, error, times, chat_id, skip))

    def block(self, user_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: sends to them get 403; by default a my_chat_member arrives."""
        self.blocked.add(user_id)
        if notify and user_id in self.users:
            self._member_update(user_id, old="member", new="kicked")

    def unblock(self, user_id: int, *, notify: bool = True) -> None:
        self.blocked.discard(user_id)
        if notify and user_id in self.users:
            self._member_update(user_id, old="kicked", new="member")

    def _member_update(self, user_id: int, *, old: str, new: str) -> None:
        user = self.users[user_id]
        change = {
            "chat": self.chats[user_id],
            "from": user,
            "date": self.now(),
            "old_chat_member": {"user": self.bot, "status": old},
            "new_chat_member": {"user": self.bot, "status": new, "until_date": 0},
        }
        self.updates.put({"my_chat_member": change})

    def migrate_group(self, old_id: int, new_id: int, *, notify: bool = True) -> Json:
        """A group becomes a supergroup: sends to old_id get 400 with migrate_to_chat_id."""
        old = self.chats[old_id]
        new = self.group(new_id, old.get("title", ""), type="supergroup")
        self.migrated[old_id] = new_id
        if notify:
            service = {"from": self.bot, "migrate_to_chat_id": new_id}
            self.updates.put({"message": self._message(old, service)})
        return new

    # -- users and what they do ----------------------------------------------------------

    def user(
        self,
        id: int,
        first_name: str,
        *,
        username: str | None = None,
        language_code: str | None = "id",
    ) -> Json:
        """Register a user and the private chat with them; returns the User object."""
        user: Json = {"id": id, "is_bot": False, "first_name": first_name}
        user.update(
            {k: v for k, v in (("username", username), ("language_code", language_code)) if v}
        )
        self.users[id] = user
        chat = {"id": id, "type": "private", "first_name": first_name}
        self.chats[id] = {**chat, "username": username} if username else chat
        return user

    def group(self, id: int, title: str, *, type: str = "supergroup") -> Json:
        """Register a group, supergroup or channel; returns the Chat object."""
        self.chats[id] = {"id": id, "type": type, "title": title}
        return self.chats[id]

    def _message(self, chat: Json, content: Json) -> Json:
        message = {
            "message_id": self.next_message_id(chat["id"]),
            "date": self.now(),
            "chat": chat,
            **content,
        }
        self.store_message(message)
        return message

    def _chat_of(self, user: Json | int, chat: Json | int | None) -> Json:
        chosen = chat if chat is not None else user
        chat_id = chosen if isinstance(chosen, int) else chosen["id"]
        return self.chats[chat_id]

    def _user_of(self, user: Json | int) -> Json:
        return self.users[user if isinstance(user, int) else user["id"]]

    async def send_text(
        self,
        user: Json | int,
        text: str,
        *,
        chat: Json | int | None = None,
        reply_to: SentMessage | Json | int | None = None,
    ) -> Json:
        """The user writes text (in chat, default their private chat); returns the update."""
        where = self._chat_of(user, chat)
        content: Json = {"from": self._user_of(user), "text": text}
        command = COMMAND.match(text)
        if command:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command.group())}
            ]
        if reply_to is not None:
            content["reply_to_message"] = self._find_message(where, reply_to)
        return self.updates.put({"message": self._message(where, content)})

    async def send_photo(
        self,
        user: Json | int,
        data: bytes = b"\xff\xd8\xff fake jpeg",
        *,
        caption: str | None = None,
        chat: Json | int | None = None,
        reply_to: SentMessage | Json | int | None = None,
    ) -> Json:
        """The user sends a photo (two sizes; the larger holds data); returns the update."""
        big = self.add_file(data, file_name="photo.jpg", mime_type="image/jpeg")
        small = self.add_file(data[:100], file_name="photo.jpg", mime_type="image/jpeg")
        sizes = [
            {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "width": w, "height": h,
             "file_size": len(f.data)}
            for f, w, h in ((small, 90, 60), (big, 1280, 853))
        ]  # fmt: skip
        where = self._chat_of(user, chat)
        content: Json = {"from": self._user_of(user), "photo": sizes}
        if caption:
            content["caption"] = caption
        if reply_to is not None:
            content["reply_to_message"] = self._find_message(where, reply_to)
        return self.updates.put({"message": self._message(where, content)})

    async def send_update(self, update: Json) -> Json:
        """Queue a raw update (e.g. a case file); its chats, users and files become known.

        A given update_id is kept when it is higher than all before it, else renumbered.
        """
        self.learn_from(update)
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self.queries[str(query["id"])] = query.get("message", {})
        return self.updates.put(update)

    async def press(
        self,
        user: Json | int,
        message: SentMessage | Json | int,
        data: str,
        *,
        chat: Json | int | None = None,
    ) -> Json:
        """The user presses the inline button carrying data on a message the bot sent."""
        where = self._chat_of(user, chat if chat is not None else self._chat_id_of(message))
        current = self._find_message(where, message)
        rows = current.get("reply_markup", {}).get("inline_keyboard", [])
        if data not in [button.get("callback_data") for row in rows for button in row]:
            raise ValueError(f"no button with callback_data {data!r} on that message")
        query_id = str(self.new_id())
        self.queries[query_id] = current
        query = {
            "id": query_id,
            "from": self._user_of(user),
            "message": current,
            "chat_instance": str(where["id"]),
            "data": data,
        }
        return self.updates.put({"callback_query": query})

    def _chat_id_of(self, message: SentMessage | Json | int) -> int | None:
        if isinstance(message, SentMessage):
            return message.chat_id
        return message["chat"]["id"] if isinstance(message, dict) else None

    def _find_message(self, chat: Json, message: SentMessage | Json | int) -> Json:
        if isinstance(message, SentMessage):
            message_id = message.message_id
        else:
            message_id = message if isinstance(message, int) else message["message_id"]
        try:
            return self.messages[(chat["id"], message_id)]
        except KeyError:
            raise ValueError(f"no message {message_id} in chat {chat['id']}") from None

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a later getUpdates offset."""
        return len(self.updates)
