"""A Moodle web-service client over REST (JSON), with timeouts and one log line per call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp

from handlers.lms_port import (
    Enrolment,
    LmsCourse,
    LmsError,
    LmsUnavailable,
    LmsUser,
    NewCourse,
    ShortNameTaken,
    SiteInfo,
)
from lms.forms import Value, flatten

logger = logging.getLogger(__name__)

StatusCallback = Callable[[str, bool, str], None]
ENDPOINT = "/webservice/rest/server.php"


def _no_status(component: str, ok: bool, detail: str) -> None:
    """Default status callback: nobody listening."""


class MoodleClient:
    """Calls Moodle's REST server; the token travels in the POST body, never in a URL or log."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 10.0,
        cooldown: float = 30.0,
        on_status: StatusCallback = _no_status,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.cooldown = cooldown
        self.on_status = on_status
        self._session: aiohttp.ClientSession | None = None
        # After the LMS failed to answer, calls fail at once for `cooldown` seconds: queued
        # requests then reach "staff will check" in moments, not one timeout each.
        self._down: tuple[float, LmsUnavailable] | None = None

    def __repr__(self) -> str:
        return f"MoodleClient({self.url!r})"

    async def call(self, function: str, params: Mapping[str, Value] | None = None) -> Any:
        """One web-service function; Moodle's error body (HTTP 200) becomes an LmsError."""
        started = time.monotonic()
        try:
            self._still_down(function, started)
            result = await self._post(function, params or {})
        except LmsError as exc:
            elapsed = time.monotonic() - started
            logger.warning("LMS %s failed after %.2f s: %s", function, elapsed, exc.errorcode)
            # A refusal is an answer: the LMS itself is up. Only no answer means it is down.
            up = not isinstance(exc, LmsUnavailable)
            if isinstance(exc, LmsUnavailable) and self._down is None:
                self._down = (time.monotonic() + self.cooldown, exc)
            self.on_status("lms", up, "" if up else f"{function}: {exc.errorcode}")
            raise
        logger.info("LMS %s ok in %.2f s", function, time.monotonic() - started)
        self._down = None
        self.on_status("lms", True, "")
        return result

    def _still_down(self, function: str, now: float) -> None:
        if self._down is None:
            return
        until, cause = self._down
        if now >= until:
            self._down = None  # try the LMS again
            return
        raise LmsUnavailable(function, cause.errorcode, f"still down: {cause.message}")

    async def _post(self, function: str, params: Mapping[str, Value]) -> Any:
        fields = [
            ("wstoken", self._token),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
            *flatten(params),
        ]
        try:
            async with self._client().post(self.url + ENDPOINT, data=fields) as response:
                if response.status != 200:
                    raise LmsUnavailable(function, f"http{response.status}", response.reason or "")
                body = await response.json(content_type=None)
        except TimeoutError:
            raise LmsUnavailable(function, "timeout", f"no answer in {self.timeout:g} s") from None
        except aiohttp.ContentTypeError as exc:
            raise LmsUnavailable(function, "notjson", str(exc.message)) from None
        except ValueError:
            raise LmsUnavailable(function, "notjson", "the answer is not JSON") from None
        except aiohttp.ClientError as exc:
            raise LmsUnavailable(function, "unreachable", type(exc).__name__) from None
        if isinstance(body, dict) and "exception" in body and "errorcode" in body:
            raise _refusal(function, body)
        return body

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def site_info(self) -> SiteInfo:
        """core_webservice_get_site_info."""
        body = await self.call("core_webservice_get_site_info")
        functions = frozenset(str(f.get("name", "")) for f in body.get("functions", []))
        return SiteInfo(
            sitename=str(body.get("sitename", "")),
            username=str(body.get("username", "")),
            functions=functions,
        )

    async def courses_by_code(self, code: str) -> Sequence[LmsCourse]:
        """core_course_search_courses, kept to short names that are or start with the code."""
        body = await self.call(
            "core_course_search_courses",
            {"criterianame": "search", "criteriavalue": code, "perpage": 50},
        )
        wanted = code.casefold()
        courses = [self._course(c) for c in body.get("courses", [])]
        return [c for c in courses if _starts_with_code(c.shortname.casefold(), wanted)]

    async def course_by_shortname(self, shortname: str) -> LmsCourse | None:
        """core_course_get_courses_by_field with field=shortname."""
        return await self._course_by("shortname", shortname)

    async def course_by_id(self, course_id: int) -> LmsCourse | None:
        """core_course_get_courses_by_field with field=id."""
        return await self._course_by("id", str(course_id))

    async def _course_by(self, field: str, value: str) -> LmsCourse | None:
        body = await self.call(
            "core_course_get_courses_by_field", {"field": field, "value": value}
        )
        courses = body.get("courses", [])
        return self._course(courses[0]) if courses else None

    async def user_by(self, field: str, value: str) -> LmsUser | None:
        """core_user_get_users_by_field for one value."""
        body = await self.call("core_user_get_users_by_field", {"field": field, "values": [value]})
        return _user(body[0]) if body else None

    async def user_course_ids(self, user_id: int) -> frozenset[int]:
        """core_enrol_get_users_courses."""
        body = await self.call("core_enrol_get_users_courses", {"userid": user_id})
        return frozenset(int(c["id"]) for c in body)

    async def create_course(self, course: NewCourse) -> LmsCourse:
        """core_course_create_courses for one course."""
        spec: dict[str, Value] = {
            "fullname": course.fullname,
            "shortname": course.shortname,
            "categoryid": course.category_id,
        }
        if course.idnumber:
            spec["idnumber"] = course.idnumber
        try:
            body = await self.call("core_course_create_courses", {"courses": [spec]})
        except LmsError as exc:
            if exc.errorcode == "shortnametaken":
                raise ShortNameTaken(exc.function, exc.message, course.shortname) from None
            raise
        created = body[0]
        return LmsCourse(
            id=int(created["id"]),
            shortname=str(created.get("shortname", course.shortname)),
            fullname=course.fullname,
            url=self.course_url(int(created["id"])),
        )

    async def enrol(self, enrolments: Sequence[Enrolment]) -> None:
        """enrol_manual_enrol_users; Moodle answers null on success."""
        if not enrolments:
            return
        items: list[Value] = [
            {"roleid": e.role_id, "userid": e.user_id, "courseid": e.course_id} for e in enrolments
        ]
        await self.call("enrol_manual_enrol_users", {"enrolments": items})

    def course_url(self, course_id: int) -> str:
        """Where a person opens the course."""
        return f"{self.url}/course/view.php?id={course_id}"

    def _course(self, data: Mapping[str, Any]) -> LmsCourse:
        return LmsCourse(
            id=int(data["id"]),
            shortname=str(data.get("shortname", "")),
            fullname=str(data.get("fullname", "")),
            url=self.course_url(int(data["id"])),
        )


def _starts_with_code(shortname: str, code: str) -> bool:
    # IF201 matches IF201 and IF201-A-2026/2027, not IF2015.
    return shortname == code or (shortname.startswith(code) and not shortname[len(code)].isalnum())


def _user(data: Mapping[str, Any]) -> LmsUser:
    return LmsUser(
        id=int(data["id"]),
        username=str(data.get("username", "")),
        email=str(data.get("email", "")),
        fullname=str(data.get("fullname", "")),
        suspended=bool(data.get("suspended", False)),
    )


def _refusal(function: str, body: Mapping[str, Any]) -> LmsError:
    errorcode = str(body.get("errorcode", ""))
    message = str(body.get("message", ""))
    if errorcode == "invalidtoken":
        # Moodle says more than the code: never more than that about a token.
        message = "invalid token"
    return LmsError(function, errorcode, message)
