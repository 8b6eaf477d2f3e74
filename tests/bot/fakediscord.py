"""A loopback fake of Discord's HTTP API that records every request, and a driver for real bots.

The bot under test is the real one: it logs in over HTTP (``GET /users/@me``), syncs its slash
commands (``PUT .../commands``), answers interactions (``POST /interactions/.../callback``, then
``POST /webhooks/...`` followups), starts threads (``POST /channels/.../messages/.../threads``),
posts into them and downloads attachments, all against an aiohttp server on 127.0.0.1. Only the
gateway is replaced: GUILD_CREATE, INTERACTION_CREATE (commands and autocomplete), MESSAGE_CREATE
and THREAD_CREATE payloads, shaped as Discord sends them, are handed to the bot's connection state
parsers; a thread the bot starts is announced to it with THREAD_CREATE, as Discord does.

Used by ``tests/bot/test_http_payloads.py`` and ``bench/bot_load.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.http
from aiohttp import web

API_PREFIX = "/api/v10"
CDN_PREFIX = "/cdn"

APP_ID = 777000000000000001
BOT_ID = 777000000000000002
GUILD_ID = 777000000000000003
CHANNEL_ID = 777000000000000004
OWNER_ID = 777000000000000005
EDITORS_ROLE_ID = 777000000000000006
EDITORS_ROLE = "Editors"
FORUM_ID = 777000000000000007  # a forum channel in the server (answered when listed in bot.qa_channels)

APPLICATION_COMMAND = 2  # interaction types
COMPONENT = 3  # a button click or a select menu choice
AUTOCOMPLETE = 4
PUBLIC_THREAD = 11  # channel types
FORUM = 15

# @everyone's permissions in a fresh server: read, send, embed, attach, history... but not Manage Server.
MEMBER_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    embed_links=True,
    attach_files=True,
    use_application_commands=True,
).value
MANAGER_PERMISSIONS = MEMBER_PERMISSIONS | discord.Permissions(manage_guild=True).value

_ids = itertools.count(1)


def snowflake() -> int:
    """A fresh Discord id for now: interactions older than 15 minutes count as expired."""
    return discord.utils.time_snowflake(dt.datetime.now(dt.UTC)) + next(_ids)


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


@dataclass
class Recorded:
    """One HTTP request the bot made."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any  # the JSON body, or the payload_json part of a multipart body
    files: dict[str, bytes]
    at: float  # time.perf_counter() when it arrived

    @property
    def token(self) -> str | None:
        """The interaction token of a callback or webhook request."""
        match = re.match(r"/(?:interactions/\d+|webhooks/\d+)/([^/]+)", self.path)
        return match.group(1) if match else None

    @property
    def creates_message(self) -> bool:
        """Whether the request creates or edits a message (and so may carry mentions)."""
        if self.method == "POST" and re.fullmatch(r"/channels/\d+/messages", self.path):
            return True
        if self.path.startswith("/webhooks/") and self.method in ("POST", "PATCH"):
            return True
        return self.path.endswith("/callback") and isinstance(self.json, dict) and self.json.get("type") in (4, 7)

    @property
    def message(self) -> dict[str, Any]:
        """The message part of the body: the callback's ``data``, else the body itself."""
        body = self.json if isinstance(self.json, dict) else {}
        if self.path.endswith("/callback"):
            return body.get("data") or {}
        return body


@dataclass
class Interaction:
    """An interaction fed to the bot, and when."""

    id: int
    token: str
    name: str
    fed_at: float
    payload: dict[str, Any] = field(repr=False)


class FakeDiscord:
    """Discord's REST API on 127.0.0.1, recording every request.

    Args:
        reject_token: Answer ``GET /users/@me`` with 401, as Discord does for a bad token.
    """

    def __init__(self, *, reject_token: bool = False) -> None:
        self.reject_token = reject_token
        # Answer thread creation with 403 Missing Permissions (no Create Public Threads permission).
        self.refuse_threads = False
        self.requests: list[Recorded] = []
        self.cdn: dict[str, bytes] = {}  # path under /cdn -> bytes
        self.command_ids: dict[str, int] = {}
        self.interactions: dict[str, Interaction] = {}  # by token
        self.channels: dict[int, dict[str, Any]] = {}  # every channel and thread of the servers, by id
        self.messages: dict[int, dict[str, Any]] = {}  # every message created or fed, by id
        self.threads: dict[int, dict[str, Any]] = {}  # threads created through the API, by id
        self._originals: dict[str, int] = {}  # interaction token -> id of its first message
        self._bots: list[discord.Client] = []  # told about threads they start (THREAD_CREATE)
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._changed: asyncio.Condition | None = None  # made in start(), on the serving loop

    # --- the server ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a random loopback port."""
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @contextlib.contextmanager
    def routed(self) -> Iterator[None]:
        """Point discord.py's REST calls (bot and webhooks alike) at this server."""
        old = discord.http.Route.BASE
        discord.http.Route.BASE = self.url + API_PREFIX
        try:
            yield
        finally:
            discord.http.Route.BASE = old

    @contextlib.contextmanager
    def running_in_thread(self) -> Iterator[FakeDiscord]:
        """Serve from a background thread, for code under test that runs its own event loop."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        ready.wait(10)
        try:
            with self.routed():
                yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        at = time.perf_counter()
        path = request.path
        if path.startswith(CDN_PREFIX + "/"):
            self._record(Recorded(request.method, path, dict(request.query), None, {}, at))
            data = self.cdn.get(path[len(CDN_PREFIX) :])
            if data is None:
                return web.Response(status=404)
            return web.Response(body=data, content_type="text/plain")
        path = path.removeprefix(API_PREFIX)
        body, files = await _read_body(request)
        self._record(Recorded(request.method, path, dict(request.query), body, files, at))
        return self._respond(request.method, path, body)

    def _record(self, recorded: Recorded) -> None:
        self.requests.append(recorded)
        if self._changed is not None:
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    def _respond(self, method: str, path: str, body: Any) -> web.Response:
        if path == "/users/@me" and method == "GET":
            if self.reject_token:
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
            return _json(user_payload(BOT_ID, "citebot", bot=True))
        if path == "/oauth2/applications/@me":
            return _json(self._app_info())
        if re.fullmatch(r"/applications/\d+(/guilds/\d+)?/commands", path) and method == "PUT":
            return _json(self._registered(body or [], path))
        if re.fullmatch(r"/interactions/\d+/[^/]+/callback", path):
            return _json(self._callback(path, body or {}))
        webhook = re.fullmatch(r"/webhooks/\d+/([^/]+)(/messages/@original)?", path)
        if webhook:
            return self._webhook(method, webhook.group(1), bool(webhook.group(2)), body or {})
        posted = re.fullmatch(r"/channels/(\d+)/messages", path)
        if posted and method == "POST":
            return _json(self._store(message_payload(body or {}, **self._where(int(posted.group(1))))))
        fetched = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)
        if fetched and method == "GET":
            found = self.messages.get(int(fetched.group(2)))
            if found is None or found["channel_id"] != fetched.group(1):
                return _json({"message": "Unknown Message", "code": 10008}, status=404)
            return _json(found)
        started = re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path)
        if started and method == "POST":
            return self._start_thread(int(started.group(1)), int(started.group(2)), body or {})
        created = re.fullmatch(r"/channels/(\d+)/threads", path)
        if created and method == "POST":
            return self._start_thread(int(created.group(1)), None, body or {})
        if re.fullmatch(r"/channels/\d+/typing", path):
            return web.Response(status=204)
        return _json({"message": f"404: no fake for {method} {path}", "code": 0}, status=404)

    def _where(self, channel_id: int) -> dict[str, int]:
        """The channel and server ids of a message created in ``channel_id``."""
        channel = self.channels.get(channel_id)
        guild_id = int(channel["guild_id"]) if channel else GUILD_ID
        return {"channel_id": channel_id, "guild_id": guild_id}

    def _store(self, message: dict[str, Any]) -> dict[str, Any]:
        self.messages[int(message["id"])] = message
        return message

    def _webhook(self, method: str, token: str, original: bool, body: dict[str, Any]) -> web.Response:
        """Followups and the original response: after a deferral the first followup *is* the
        original response (it replaces "thinking…"), so both name the same message."""
        interaction = self.interactions.get(token)
        where = self._where(int(interaction.payload["channel_id"])) if interaction else {}
        if original and token in self._originals:
            message = self.messages[self._originals[token]]
            if method == "PATCH":
                message = {**message, **{k: body[k] for k in ("content", "components") if k in body}}
            return _json(self._store(message))
        message = self._store(message_payload(body, **where))
        self._originals.setdefault(token, int(message["id"]))
        return _json(message)

    def _start_thread(self, channel_id: int, message_id: int | None, body: dict[str, Any]) -> web.Response:
        """A thread on a message (its id is the message's, as Discord makes it), or a new one in a channel."""
        if self.refuse_threads:
            return _json({"message": "Missing Permissions", "code": 50013}, status=403)
        parent = self.channels.get(channel_id)
        if parent is None or parent["type"] not in (0, 5, FORUM):
            return _json({"message": "Cannot execute action on this channel type", "code": 50024}, status=400)
        if message_id is not None and message_id in self.threads:
            return _json({"message": "A thread has already been created for this message", "code": 160004}, 400)
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": {"name": name}}, status=400)
        thread = thread_payload(
            message_id or snowflake(),
            channel_id,
            name,
            owner_id=BOT_ID,
            guild_id=int(parent["guild_id"]),
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        )
        self.threads[int(thread["id"])] = thread
        self.channels[int(thread["id"])] = thread
        for bot in self._bots:  # the gateway announces the new thread to its creator
            state: Any = bot._connection
            state.parse_thread_create({**thread, "newly_created": True})
        return _json(thread)

    def _app_info(self) -> dict[str, Any]:
        return {
            "id": str(APP_ID),
            "name": "citebot",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": user_payload(OWNER_ID, "owner"),
            "verify_key": "00" * 32,
            "flags": 0,
            "team": None,
            "summary": "",
        }

    def _registered(self, commands: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
        out = []
        for command in commands:
            command_id = self.command_ids.setdefault(command["name"], snowflake())
            out.append({**command, "id": str(command_id), "application_id": str(APP_ID), "version": "1"})
            guild = re.search(r"/guilds/(\d+)/", path)
            if guild:
                out[-1]["guild_id"] = guild.group(1)
        return out

    def _callback(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        interaction_id = path.split("/")[2]
        kind = body.get("type")
        answer: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": 2,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64),
            }
        }
        if kind == 4:
            answer["resource"] = {"type": 4, "message": self._responded(interaction_id, body.get("data") or {})}
        elif kind == 7:  # UPDATE_MESSAGE: the clicked message is edited in place
            clicked = next((i for i in self.interactions.values() if str(i.id) == interaction_id), None)
            original = clicked.payload.get("message") if clicked else None
            edited = self._store({**original, **(body.get("data") or {})}) if original else None
            answer["resource"] = {"type": 7, **({"message": edited} if edited else {})}
        else:
            answer["resource"] = {"type": kind}
        return answer

    def _responded(self, interaction_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The message of a CHANNEL_MESSAGE_WITH_SOURCE response, stored (an ephemeral one too, so
        its menu can be used) as the interaction's original response."""
        fed = next((i for i in self.interactions.values() if str(i.id) == interaction_id), None)
        where = self._where(int(fed.payload["channel_id"])) if fed else {}
        message = self._store(message_payload(data, **where))
        if fed is not None:
            self._originals.setdefault(fed.token, int(message["id"]))
        return message

    def original(self, interaction: Interaction) -> dict[str, Any]:
        """The stored original response of an interaction (after a deferral: its first followup)."""
        return self.messages[self._originals[interaction.token]]

    # --- what the bot sent ----------------------------------------------------------------------

    def sent(self, method: str | None = None, pattern: str = ".*") -> list[Recorded]:
        """Recorded requests, optionally filtered by method and a path regex."""
        return [r for r in self.requests if (method is None or r.method == method) and re.fullmatch(pattern, r.path)]

    def for_interaction(self, interaction: Interaction) -> list[Recorded]:
        """The callback and the webhook requests of one interaction, in arrival order."""
        return [r for r in self.requests if r.token == interaction.token]

    def answers(self, interaction: Interaction) -> list[Recorded]:
        """The message-creating requests of one interaction (callback type 4 or followups)."""
        return [r for r in self.for_interaction(interaction) if r.creates_message]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait until ``condition()`` holds, re-checked whenever a request arrives."""
        assert self._changed is not None
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met after {timeout} s; requests: {self.requests}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def wait_answered(self, interaction: Interaction, count: int = 1, timeout: float = 30.0) -> list[Recorded]:
        """Wait for ``count`` message-creating requests of an interaction and return them."""
        await self.wait_for(lambda: len(self.answers(interaction)) >= count, timeout)
        return self.answers(interaction)

    # --- the gateway side -----------------------------------------------------------------------

    def attachment(self, name: str, data: bytes, *, size: int | None = None) -> dict[str, Any]:
        """An attachment object served from this server's CDN (``size`` can lie, as a test needs)."""
        attachment_id = snowflake()
        path = f"/attachments/{CHANNEL_ID}/{attachment_id}/{name}"
        self.cdn[path] = data
        return {
            "id": str(attachment_id),
            "filename": name,
            "size": len(data) if size is None else size,
            "url": f"{self.url}{CDN_PREFIX}{path}",
            "proxy_url": f"{self.url}{CDN_PREFIX}{path}",
            "content_type": "text/plain; charset=utf-8",
        }

    def connect(self, bot: discord.Client, *guilds: dict[str, Any]) -> None:
        """Tell the bot about its servers, as the gateway's GUILD_CREATE does after READY.

        Args:
            bot: The logged-in bot.
            guilds: GUILD_CREATE payloads (:func:`guild_payload`); the one test server when none.
        """
        state: Any = bot._connection  # the gateway's parsers, fed directly
        if bot not in self._bots:
            self._bots.append(bot)
        for guild in guilds or (guild_payload(),):
            for channel in guild["channels"]:
                self.channels[int(channel["id"])] = {**channel, "guild_id": guild["id"]}
            state.parse_guild_create(guild)

    def message(
        self,
        bot: discord.Client,
        content: str,
        *,
        channel_id: int = CHANNEL_ID,
        user_id: int = 888000000000000001,
        message_id: int | None = None,
        roles: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        """Feed the bot one MESSAGE_CREATE from a member with ``roles``, as the gateway would (in a
        thread: the thread's id as ``channel_id``). A mention of the bot in ``content`` is listed as
        Discord does."""
        where = self._where(channel_id)
        payload = message_payload({"content": content}, **where)
        payload.update(
            id=str(message_id or snowflake()),
            author=user_payload(user_id, f"user{user_id % 1000}"),
            member=member_payload(roles),
            webhook_id=None,
            application_id=None,
            flags=0,
            mentions=[user_payload(BOT_ID, "citebot", bot=True)] if f"<@{BOT_ID}>" in content else [],
        )
        self._store(payload)
        state: Any = bot._connection
        state.parse_message_create(payload)
        return payload

    def forum_post(
        self,
        bot: discord.Client,
        title: str,
        content: str,
        *,
        forum_id: int = FORUM_ID,
        user_id: int = 888000000000000001,
    ) -> int:
        """A member opens a post in a forum: THREAD_CREATE, then the post's first message (whose id is
        the thread's) as MESSAGE_CREATE, in the order the gateway sends them. Returns the thread id."""
        forum = self.channels[forum_id]
        thread = thread_payload(snowflake(), forum_id, title, owner_id=user_id, guild_id=int(forum["guild_id"]))
        thread_id = int(thread["id"])
        self.channels[thread_id] = thread
        state: Any = bot._connection
        state.parse_thread_create({**thread, "newly_created": True})
        self.message(bot, content, channel_id=thread_id, user_id=user_id, message_id=thread_id)
        return thread_id

    def slash(
        self,
        bot: discord.Client,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: int = 888000000000000001,
        roles: tuple[int, ...] = (),
        permissions: int = MEMBER_PERMISSIONS,
        attachments: list[dict[str, Any]] | None = None,
        channel_id: int = CHANNEL_ID,
    ) -> Interaction:
        """Feed the bot one slash-command INTERACTION_CREATE, as the gateway would.

        Args:
            bot: The logged-in bot.
            name: The command name.
            options: Option name -> value (an attachment option's value is the attachment id).
            user_id: Who invokes it.
            roles: Their role ids.
            permissions: Their resolved permissions in the channel (Discord computes these).
            attachments: Attachment objects for the ``resolved`` section.
            channel_id: Where it is invoked (a thread's id in a thread); its server follows.
        """
        return self._interact(
            bot, APPLICATION_COMMAND, name, options, None, user_id, roles, permissions, attachments, channel_id
        )

    def autocomplete(
        self,
        bot: discord.Client,
        name: str,
        options: dict[str, Any],
        focused: str,
        *,
        user_id: int = 888000000000000001,
        channel_id: int = CHANNEL_ID,
    ) -> Interaction:
        """Feed the bot an APPLICATION_COMMAND_AUTOCOMPLETE interaction (type 4): the member is typing
        option ``focused`` (its partial value in ``options``); the bot answers with callback type 8."""
        return self._interact(
            bot, AUTOCOMPLETE, name, options, focused, user_id, (), MEMBER_PERMISSIONS, None, channel_id
        )

    def choices(self, interaction: Interaction) -> list[dict[str, Any]]:
        """The choices the bot offered for an autocomplete interaction."""
        (answer,) = [r for r in self.for_interaction(interaction) if r.path.endswith("/callback")]
        assert answer.json["type"] == 8, answer.json  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
        return list(answer.json["data"]["choices"])

    def click(
        self,
        bot: discord.Client,
        message_id: int,
        custom_id: str,
        *,
        values: list[str] | None = None,
        user_id: int = 888000000000000001,
        roles: tuple[int, ...] = (),
        permissions: int = MEMBER_PERMISSIONS,
    ) -> Interaction:
        """Feed the bot a MESSAGE_COMPONENT interaction (type 3): a member clicked the button
        ``custom_id`` on the stored message ``message_id`` (or chose ``values`` in its select menu)."""
        message = self.messages[message_id]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2 if values is None else 3}
        if values is not None:
            data["values"] = values
        channel_id = int(message["channel_id"])
        return self._feed(bot, COMPONENT, custom_id, data, user_id, roles, permissions, channel_id, message)

    def _interact(
        self,
        bot: discord.Client,
        kind: int,
        name: str,
        options: dict[str, Any] | None,
        focused: str | None,
        user_id: int,
        roles: tuple[int, ...],
        permissions: int,
        attachments: list[dict[str, Any]] | None,
        channel_id: int,
    ) -> Interaction:
        channel = self.channels.get(channel_id) or channel_payload()
        data: dict[str, Any] = {
            "id": str(self.command_ids.get(name, 0)),
            "name": name,
            "type": 1,
            "guild_id": str(channel["guild_id"]),
            "options": [
                {"name": key, "type": _option_type(value, attachments), "value": value}
                | ({"focused": True} if key == focused else {})
                for key, value in (options or {}).items()
            ],
        }
        if attachments:
            data["resolved"] = {"attachments": {a["id"]: a for a in attachments}}
        return self._feed(bot, kind, name, data, user_id, roles, permissions, channel_id, None)

    def _feed(
        self,
        bot: discord.Client,
        kind: int,
        name: str,
        data: dict[str, Any],
        user_id: int,
        roles: tuple[int, ...],
        permissions: int,
        channel_id: int,
        message: dict[str, Any] | None,
    ) -> Interaction:
        """Build an INTERACTION_CREATE payload around ``data`` and hand it to the bot's state."""
        interaction_id = snowflake()
        token = f"token-{interaction_id}"
        channel = self.channels.get(channel_id) or channel_payload()
        guild_id = int(channel["guild_id"])
        payload = {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(guild_id),
            "channel_id": str(channel["id"]),
            "channel": channel,
            "member": {
                **member_payload(roles),
                "user": user_payload(user_id, f"user{user_id % 1000}"),
                "permissions": str(permissions),
            },
            "app_permissions": str(MANAGER_PERMISSIONS),
            "locale": "en-GB",
            "guild_locale": "en-GB",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "data": data,
        }
        if message is not None:
            payload["message"] = message
        interaction = Interaction(interaction_id, token, name, time.perf_counter(), payload)
        self.interactions[token] = interaction
        state: Any = bot._connection
        state.parse_interaction_create(payload)
        return interaction


def _option_type(value: Any, attachments: list[dict[str, Any]] | None) -> int:
    if attachments and any(a["id"] == value for a in attachments):
        return 11  # ATTACHMENT
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    return 3  # STRING


def member_payload(roles: tuple[int, ...] = ()) -> dict[str, Any]:
    """The ``member`` part of a message or an interaction (the user is given beside it)."""
    return {
        "roles": [str(r) for r in roles],
        "joined_at": "2025-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "premium_since": None,
    }


def channel_payload(channel_id: int = CHANNEL_ID, guild_id: int = GUILD_ID, name: str = "news-desk") -> dict[str, Any]:
    """A text channel."""
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def forum_payload(channel_id: int = FORUM_ID, guild_id: int = GUILD_ID, name: str = "questions") -> dict[str, Any]:
    """A forum channel: every post in it is a thread whose first message has the thread's id."""
    return {
        **channel_payload(channel_id, guild_id, name),
        "type": FORUM,
        "position": 1,
        "available_tags": [],
        "default_reaction_emoji": None,
        "default_sort_order": None,
        "default_forum_layout": 0,
        "default_thread_rate_limit_per_user": 0,
        "flags": 0,
    }


def thread_payload(
    thread_id: int,
    parent_id: int,
    name: str,
    *,
    owner_id: int,
    guild_id: int = GUILD_ID,
    auto_archive_duration: int = 1440,
) -> dict[str, Any]:
    """A public thread (a thread channel object, as Discord returns and announces it)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    return {
        "id": str(thread_id),
        "type": PUBLIC_THREAD,
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "applied_tags": [],
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": auto_archive_duration,
            "archive_timestamp": now,
            "locked": False,
            "create_timestamp": now,
        },
    }


def role_payload(role_id: int, name: str, permissions: int, position: int) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def guild_payload(
    guild_id: int = GUILD_ID, channels: list[dict[str, Any]] | None = None, name: str = "Newsroom"
) -> dict[str, Any]:
    """A GUILD_CREATE for one server with an "Editors" role (named in the test config) and its
    channels: by default the text channel and the forum of the test server."""
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "owner_id": str(OWNER_ID),
        "roles": [
            role_payload(guild_id, "@everyone", MEMBER_PERMISSIONS, 0),
            role_payload(
                EDITORS_ROLE_ID if guild_id == GUILD_ID else guild_id + 1, EDITORS_ROLE, MEMBER_PERMISSIONS, 1
            ),
        ],
        "channels": channels if channels is not None else [channel_payload(), forum_payload()],
        "members": [
            {
                "user": user_payload(BOT_ID, "citebot", bot=True),
                "roles": [],
                "joined_at": "2025-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        ],
        "member_count": 3,
        "emojis": [],
        "stickers": [],
        "features": [],
        "threads": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "large": False,
        "unavailable": False,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-GB",
        "system_channel_id": None,
        "afk_timeout": 300,
        "nsfw_level": 0,
    }


def message_payload(body: dict[str, Any], channel_id: int = CHANNEL_ID, guild_id: int = GUILD_ID) -> dict[str, Any]:
    """The message Discord returns for a message the bot created or edited in ``channel_id``."""
    return {
        "id": str(snowflake()),
        "channel_id": str(channel_id),
        "guild_id": str(guild_id),
        "author": user_payload(BOT_ID, "citebot", bot=True),
        "content": body.get("content") or "",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": body.get("embeds") or [],
        "components": body.get("components") or [],  # buttons: what a click is dispatched against
        "pinned": False,
        "type": 0,
        "flags": body.get("flags", 0),
        "webhook_id": str(APP_ID),
        "application_id": str(APP_ID),
    }


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py decodes a body as JSON only when the type is exactly "application/json", as Discord
    # sends it (aiohttp's json_response would add "; charset=utf-8").
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


async def _read_body(request: web.Request) -> tuple[Any, dict[str, bytes]]:
    if not request.can_read_body:
        return None, {}
    if request.content_type.startswith("multipart/"):
        body: Any = None
        files: dict[str, bytes] = {}
        reader = await request.multipart()
        async for part in reader:
            data = await part.read()  # type: ignore[union-attr]
            name = part.name or ""  # type: ignore[union-attr]
            if name == "payload_json":
                body = json.loads(data)
            else:
                files[name] = bytes(data)
        return body, files
    raw = await request.read()
    if not raw:
        return None, {}
    try:
        return json.loads(raw), {}
    except ValueError:
        return raw.decode("utf-8", "replace"), {}


@contextlib.asynccontextmanager
async def logged_in(fake: FakeDiscord, bot: discord.Client, token: str = "fake-token") -> AsyncIterator[None]:
    """Log ``bot`` in against ``fake`` (runs its ``setup_hook``) and tell it about its server."""
    with fake.routed():
        try:
            await bot.login(token)
            fake.connect(bot)
            yield
        finally:
            await bot.close()


def plain(content: str) -> str:
    """A message's text without its bold markers: the quote as the article has it (the answering
    phrase inside a quote is bold)."""
    return content.replace("**", "")
