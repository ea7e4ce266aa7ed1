"""What the helpdesk needs from an LMS, free of any LMS's protocol: shapes, errors, a Protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# The web-service functions the helpdesk calls; the start-up check names any that are missing.
REQUIRED_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_course_get_courses_by_field",
    "core_course_search_courses",
    "core_course_create_courses",
    "core_user_get_users_by_field",
    "core_enrol_get_users_courses",
    "enrol_manual_enrol_users",
)


class LmsError(Exception):
    """An LMS call that did not give an answer we can use.

    `errorcode` is the LMS's own code (e.g. `invalidtoken`); `message` its own text. Neither
    is shown raw to users: `handlers.lms_texts.plain_error` says it in plain words for staff.
    """

    def __init__(self, function: str, errorcode: str, message: str) -> None:
        super().__init__(f"{function}: {errorcode}: {message}")
        self.function = function
        self.errorcode = errorcode
        self.message = message


class LmsUnavailable(LmsError):
    """The LMS did not answer in time, could not be reached, or answered something unreadable."""


class ShortNameTaken(LmsError):
    """A course with this short name already exists."""

    def __init__(self, function: str, message: str, shortname: str) -> None:
        super().__init__(function, "shortnametaken", message)
        self.shortname = shortname


@dataclass(frozen=True)
class LmsCourse:
    """A course in the LMS."""

    id: int
    shortname: str
    fullname: str
    url: str


@dataclass(frozen=True)
class LmsUser:
    """An account in the LMS."""

    id: int
    username: str
    email: str
    fullname: str
    suspended: bool = False


@dataclass(frozen=True)
class SiteInfo:
    """Who the token acts as and which functions it may call."""

    sitename: str
    username: str
    functions: frozenset[str]

    @property
    def missing(self) -> tuple[str, ...]:
        """Required functions the token may not call, in the order of REQUIRED_FUNCTIONS."""
        return tuple(f for f in REQUIRED_FUNCTIONS if f not in self.functions)


@dataclass(frozen=True)
class NewCourse:
    """A course to create."""

    fullname: str
    shortname: str
    category_id: int
    idnumber: str = ""


@dataclass(frozen=True)
class Enrolment:
    """One user to enrol in one course with one role."""

    user_id: int
    course_id: int
    role_id: int


@dataclass(frozen=True)
class LmsConfig:
    """The university's ids in the LMS; handlers read only this, never the settings."""

    url: str
    timeout: float = 10.0
    student_role_id: int = 5
    teacher_role_id: int = 3
    categories: Mapping[str, int] = field(default_factory=dict)

    def category_for(self, faculty: str) -> int | None:
        """The course category of a faculty, compared without case or outer spaces."""
        wanted = faculty.strip().casefold()
        for name, category in self.categories.items():
            if name.strip().casefold() == wanted:
                return category
        return None


class Lms(Protocol):
    """The LMS as the helpdesk uses it; every call may raise LmsError or LmsUnavailable."""

    async def site_info(self) -> SiteInfo:
        """The site's name, the token's user and the functions it may call."""

    async def courses_by_code(self, code: str) -> Sequence[LmsCourse]:
        """Courses whose short name is `code` or starts with it (`IF201-A-2026/2027`)."""

    async def course_by_shortname(self, shortname: str) -> LmsCourse | None:
        """The course with exactly this short name, if any."""

    async def course_by_id(self, course_id: int) -> LmsCourse | None:
        """The course with this id, if any."""

    async def user_by(self, field: str, value: str) -> LmsUser | None:
        """The account whose `field` (`email` or `username`) is `value`, if any."""

    async def user_course_ids(self, user_id: int) -> frozenset[int]:
        """The ids of the courses a user is enrolled in."""

    async def create_course(self, course: NewCourse) -> LmsCourse:
        """Create a course; raises ShortNameTaken when its short name is in use."""

    async def enrol(self, enrolments: Sequence[Enrolment]) -> None:
        """Enrol users (manual enrolment); enrolling someone already enrolled is harmless."""

    async def close(self) -> None:
        """Release connections."""
