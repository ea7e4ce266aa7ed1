"""A Moodle web-service test server: Moodle's REST envelope, errors and flattened parameters."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from handlers.lms_port import REQUIRED_FUNCTIONS

ENDPOINT = "/webservice/rest/server.php"
_KEY = re.compile(r"\[([^\]]*)\]")

Result = Any
Function = Callable[[dict[str, Any]], Result]


class MoodleException(Exception):
    """What Moodle answers as HTTP 200 with {"exception", "errorcode", "message"}."""

    def __init__(self, exception: str, errorcode: str, message: str) -> None:
        super().__init__(message)
        self.body = {"exception": exception, "errorcode": errorcode, "message": message}


@dataclass
class Call:
    """One request the server received."""

    function: str
    params: dict[str, Any]
    token: str


@dataclass
class MoodleState:
    """The site's data: categories, courses, users and enrolments."""

    categories: set[int] = field(default_factory=lambda: {1})
    courses: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    enrolments: set[tuple[int, int, int]] = field(default_factory=set)  # user, course, role
    _next_id: int = 100

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id


def unflatten(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """Nested values from `courses[0][fullname]=...`; numeric keys become list positions."""
    root: dict[str, Any] = {}
    for name, value in fields:
        head = name.split("[", 1)[0]
        keys = [head, *_KEY.findall(name[len(head) :])]
        node = root
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    result: dict[str, Any] = _lists(root)
    return result


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


class FakeMoodle:
    """Runs on 127.0.0.1 on a free port; `async with FakeMoodle() as moodle: moodle.url`."""

    def __init__(self, *, token: str = "ws-token-123", sitename: str = "SUNARI UNR") -> None:
        self.token = token
        self.sitename = sitename
        self.state = MoodleState()
        self.calls: list[Call] = []
        self.allowed: set[str] = set(REQUIRED_FUNCTIONS)
        self.delay = 0.0  # seconds before each answer: the slow-LMS switch
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._functions: dict[str, Function] = {
            "core_webservice_get_site_info": self._site_info,
            "core_course_get_courses_by_field": self._courses_by_field,
            "core_course_search_courses": self._search_courses,
            "core_course_create_courses": self._create_courses,
            "core_user_get_users_by_field": self._users_by_field,
            "core_enrol_get_users_courses": self._users_courses,
            "enrol_manual_enrol_users": self._enrol,
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeMoodle:
        app = web.Application()
        app.router.add_post(ENDPOINT, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # Test set-up helpers.
    def add_user(
        self, username: str, email: str, fullname: str, *, suspended: bool = False
    ) -> int:
        user_id = self.state.next_id()
        self.state.users[user_id] = {
            "id": user_id,
            "username": username,
            "email": email,
            "fullname": fullname,
            "suspended": suspended,
        }
        return user_id

    def add_course(self, shortname: str, fullname: str, *, category: int = 1) -> int:
        course_id = self.state.next_id()
        self.state.courses[course_id] = {
            "id": course_id,
            "shortname": shortname,
            "fullname": fullname,
            "categoryid": category,
            "idnumber": "",
        }
        return course_id

    def enrol(self, user_id: int, course_id: int, role_id: int = 5) -> None:
        self.state.enrolments.add((user_id, course_id, role_id))

    def course_named(self, shortname: str) -> dict[str, Any] | None:
        return next((c for c in self.state.courses.values() if c["shortname"] == shortname), None)

    def roles_in(self, course_id: int) -> set[tuple[int, int]]:
        """(user id, role id) pairs enrolled in a course."""
        return {(u, r) for u, c, r in self.state.enrolments if c == course_id}

    def functions_called(self) -> list[str]:
        return [c.function for c in self.calls]

    # The web service.
    async def _handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = [(k, str(v)) for k, v in form.items()]
        params = unflatten(fields)
        token = str(params.pop("wstoken", ""))
        function = str(params.pop("wsfunction", ""))
        params.pop("moodlewsrestformat", None)
        self.calls.append(Call(function, params, token))
        if self.delay:
            await asyncio.sleep(self.delay)
        try:
            result = self._dispatch(token, function, params)
        except MoodleException as exc:
            return web.json_response(exc.body)
        return web.json_response(result)

    def _dispatch(self, token: str, function: str, params: dict[str, Any]) -> Result:
        if token != self.token:
            raise MoodleException(
                "moodle_exception",
                "invalidtoken",
                "Invalid token - token not found",
            )
        if function not in self._functions or function not in self.allowed:
            raise MoodleException(
                "webservice_access_exception",
                "accessexception",
                "Access control exception",
            )
        return self._functions[function](params)

    def _site_info(self, params: dict[str, Any]) -> Result:
        return {
            "sitename": self.sitename,
            "username": "helpdesk-ws",
            "siteurl": self.url,
            "release": "4.3",
            "functions": [{"name": f, "version": "2023100900"} for f in sorted(self.allowed)],
        }

    def _public(self, course: dict[str, Any]) -> dict[str, Any]:
        return {k: course[k] for k in ("id", "shortname", "fullname", "categoryid", "idnumber")}

    def _courses_by_field(self, params: dict[str, Any]) -> Result:
        name, value = params.get("field", ""), str(params.get("value", ""))
        if name not in ("", "id", "ids", "shortname", "idnumber", "category"):
            raise _invalid("field")
        courses = list(self.state.courses.values())
        if name == "id":
            courses = [c for c in courses if str(c["id"]) == value]
        elif name == "shortname":
            courses = [c for c in courses if c["shortname"] == value]
        elif name == "idnumber":
            courses = [c for c in courses if c["idnumber"] == value]
        return {"courses": [self._public(c) for c in courses], "warnings": []}

    def _search_courses(self, params: dict[str, Any]) -> Result:
        if params.get("criterianame") != "search":
            raise _invalid("criterianame")
        words = str(params.get("criteriavalue", "")).casefold().split()
        found = [
            c
            for c in self.state.courses.values()
            if all(w in f"{c['shortname']} {c['fullname']}".casefold() for w in words)
        ]
        return {"total": len(found), "courses": [self._public(c) for c in found], "warnings": []}

    def _create_courses(self, params: dict[str, Any]) -> Result:
        specs = params.get("courses")
        if not isinstance(specs, list) or not specs:
            raise _invalid("courses")
        for spec in specs:
            if not spec.get("fullname") or not spec.get("shortname"):
                raise _invalid("courses")
            if self.course_named(spec["shortname"]) is not None:
                raise MoodleException(
                    "moodle_exception",
                    "shortnametaken",
                    f"Short name is already used for another course ({spec['shortname']})",
                )
            if int(spec.get("categoryid", 0)) not in self.state.categories:
                raise MoodleException(
                    "dml_missing_record_exception",
                    "invalidrecord",
                    "Can't find data record in database table course_categories.",
                )
        created = []
        for spec in specs:
            course_id = self.add_course(
                spec["shortname"], spec["fullname"], category=int(spec["categoryid"])
            )
            self.state.courses[course_id]["idnumber"] = spec.get("idnumber", "")
            created.append({"id": course_id, "shortname": spec["shortname"]})
        return created

    def _users_by_field(self, params: dict[str, Any]) -> Result:
        name = params.get("field")
        if name not in ("id", "idnumber", "username", "email"):
            raise _invalid("field")
        values = {str(v).casefold() for v in params.get("values", [])}
        return [dict(u) for u in self.state.users.values() if str(u[name]).casefold() in values]

    def _users_courses(self, params: dict[str, Any]) -> Result:
        user_id = int(params.get("userid", 0))
        ids = {c for u, c, _ in self.state.enrolments if u == user_id}
        return [self._public(self.state.courses[c]) for c in sorted(ids)]

    def _enrol(self, params: dict[str, Any]) -> Result:
        items = params.get("enrolments")
        if not isinstance(items, list) or not items:
            raise _invalid("enrolments")
        for item in items:
            user, course = int(item["userid"]), int(item["courseid"])
            if user not in self.state.users or course not in self.state.courses:
                raise MoodleException(
                    "invalid_parameter_exception",
                    "invalidparameter",
                    "Invalid parameter value detected",
                )
        for item in items:
            self.enrol(int(item["userid"]), int(item["courseid"]), int(item["roleid"]))
        return None


def _invalid(name: str) -> MoodleException:
    return MoodleException(
        "invalid_parameter_exception",
        "invalidparameter",
        f"Invalid parameter value detected ({name})",
    )
