"""The Moodle client against the Moodle test server over HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from handlers.lms_check import account_state, check_site
from handlers.lms_port import (
    REQUIRED_FUNCTIONS,
    Enrolment,
    LmsError,
    LmsUnavailable,
    NewCourse,
    ShortNameTaken,
)
from handlers.lms_texts import plain_error
from lms.client import MoodleClient
from lms.forms import Value, flatten
from tests.moodle.server import FakeMoodle, unflatten


@pytest.fixture
async def moodle() -> AsyncIterator[FakeMoodle]:
    async with FakeMoodle() as server:
        yield server


@pytest.fixture
async def client(moodle: FakeMoodle) -> AsyncIterator[MoodleClient]:
    statuses: list[tuple[str, bool, str]] = []
    lms = MoodleClient(
        moodle.url, moodle.token, timeout=2.0, on_status=lambda *s: statuses.append(s)
    )
    lms.statuses = statuses  # type: ignore[attr-defined]
    yield lms
    await lms.close()


def test_flatten_is_moodles_bracket_notation_and_the_server_reads_it_back() -> None:
    params: dict[str, Value] = {
        "courses": [{"fullname": "Basis Data", "shortname": "IF201-A", "categoryid": 3}],
        "flag": True,
        "skip": None,
    }
    fields = flatten(params)
    assert fields == [
        ("courses[0][fullname]", "Basis Data"),
        ("courses[0][shortname]", "IF201-A"),
        ("courses[0][categoryid]", "3"),
        ("flag", "1"),
    ]
    assert unflatten(fields) == {
        "courses": [{"fullname": "Basis Data", "shortname": "IF201-A", "categoryid": "3"}],
        "flag": "1",
    }


async def test_site_info_lists_functions_and_the_check_passes(
    moodle: FakeMoodle, client: MoodleClient
) -> None:
    site = await client.site_info()
    assert site.sitename == "SUNARI UNR" and site.missing == ()
    result = await check_site(client, timeout=2.0)
    assert result.ok and "SUNARI UNR" in result.detail
    call = moodle.calls[-1]
    assert (call.function, call.token) == ("core_webservice_get_site_info", moodle.token)


async def test_missing_functions_are_named_in_plain_words(
    moodle: FakeMoodle, client: MoodleClient
) -> None:
    moodle.allowed -= {"core_course_create_courses", "enrol_manual_enrol_users"}
    result = await check_site(client, timeout=2.0)
    assert not result.ok
    assert "core_course_create_courses, enrol_manual_enrol_users" in result.detail
    assert "add them" in result.detail


async def test_wrong_token_is_an_error_with_moodles_code_and_never_echoed(
    moodle: FakeMoodle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    lms = MoodleClient(moodle.url, "wrong-secret-token", timeout=2.0)
    try:
        with pytest.raises(LmsError) as caught:
            await lms.site_info()
        result = await check_site(lms, timeout=2.0)
    finally:
        await lms.close()
    assert caught.value.errorcode == "invalidtoken"
    assert not isinstance(caught.value, LmsUnavailable)
    assert not result.ok and "token" in result.detail
    assert "wrong-secret-token" not in caplog.text
    assert "core_webservice_get_site_info failed" in caplog.text


async def test_a_function_outside_the_service_is_an_access_exception(
    moodle: FakeMoodle, client: MoodleClient
) -> None:
    moodle.allowed.discard("core_user_get_users_by_field")
    with pytest.raises(LmsError) as caught:
        await client.user_by("email", "a@unr.example")
    assert caught.value.errorcode == "accessexception"
    words = plain_error(caught.value, timeout=2.0)
    assert "core_user_get_users_by_field belum ditambahkan" in words


async def test_create_find_and_enrol(moodle: FakeMoodle, client: MoodleClient) -> None:
    user_id = moodle.add_user("198001012005", "made@unr.example", "Made Dosen")
    moodle.add_course("IF2015", "Another course")
    course = await client.create_course(NewCourse("Basis Data - Kelas A", "IF201-A-2026/2027", 1))
    assert course.url == f"{moodle.url}/course/view.php?id={course.id}"
    assert moodle.course_named("IF201-A-2026/2027") is not None

    assert [c.id for c in await client.courses_by_code("IF201")] == [course.id]
    assert await client.course_by_shortname("IF201-A-2026/2027") == course
    assert (await client.course_by_id(course.id)) == course
    user = await client.user_by("email", "made@unr.example")
    assert user is not None and user.id == user_id
    assert await client.user_by("username", "nobody") is None

    await client.enrol([Enrolment(user_id, course.id, 3)])  # Moodle answers null
    assert moodle.roles_in(course.id) == {(user_id, 3)}
    assert await client.user_course_ids(user_id) == frozenset({course.id})
    enrol = moodle.calls[-2]
    assert enrol.params == {
        "enrolments": [{"roleid": "3", "userid": str(user_id), "courseid": str(course.id)}]
    }


async def test_a_taken_short_name_is_its_own_error(
    moodle: FakeMoodle, client: MoodleClient
) -> None:
    moodle.add_course("IF201-A-2026/2027", "Basis Data")
    with pytest.raises(ShortNameTaken) as caught:
        await client.create_course(NewCourse("Basis Data", "IF201-A-2026/2027", 1))
    assert caught.value.shortname == "IF201-A-2026/2027"


async def test_a_slow_lms_times_out_and_is_reported_down(
    moodle: FakeMoodle, client: MoodleClient
) -> None:
    moodle.delay = 1.5
    client.timeout = 0.3
    await client.close()  # the next session takes the new timeout
    with pytest.raises(LmsUnavailable) as caught:
        await client.site_info()
    assert caught.value.errorcode == "timeout"
    assert "0.3 detik" in plain_error(caught.value, timeout=0.3)
    assert client.statuses[-1][:2] == ("lms", False)  # type: ignore[attr-defined]


async def test_an_absent_lms_is_unreachable() -> None:
    async with FakeMoodle() as server:
        url = server.url
    lms = MoodleClient(url, "t", timeout=2.0)
    try:
        with pytest.raises(LmsUnavailable) as caught:
            await lms.site_info()
    finally:
        await lms.close()
    assert caught.value.errorcode == "unreachable"


async def test_account_state_exists_suspended_missing(
    moodle: FakeMoodle, client: MoodleClient
) -> None:
    moodle.add_user("2201010001", "dewi@unr.example", "Dewi")
    moodle.add_user("2201010002", "komang@unr.example", "Komang", suspended=True)
    assert (await account_state(client, email="DEWI@unr.example", nim=None, timeout=2)).state == (
        "exists"
    )
    suspended = await account_state(client, email=None, nim="2201010002", timeout=2)
    assert suspended.state == "suspended" and "suspended" in suspended.describe()
    missing = await account_state(client, email="x@unr.example", nim="999", timeout=2)
    assert missing.state == "missing"
    moodle.allowed.discard("core_user_get_users_by_field")
    unknown = await account_state(client, email="dewi@unr.example", nim=None, timeout=2)
    assert unknown.state == "unknown" and "belum ditambahkan" in unknown.describe()


def test_required_functions_are_all_served_by_the_test_server() -> None:
    assert set(REQUIRED_FUNCTIONS) == set(FakeMoodle()._functions)


async def test_after_a_timeout_calls_fail_at_once_until_the_cooldown_ends(
    moodle: FakeMoodle,
) -> None:
    moodle.delay = 1.0
    lms = MoodleClient(moodle.url, moodle.token, timeout=0.3, cooldown=0.8)
    try:
        with pytest.raises(LmsUnavailable):
            await lms.site_info()
        calls = len(moodle.calls)
        with pytest.raises(LmsUnavailable) as caught:
            await lms.courses_by_code("IF201")
        assert len(moodle.calls) == calls  # not even asked
        assert caught.value.errorcode == "timeout"
        moodle.delay = 0.0
        await asyncio.sleep(0.9)
        assert (await lms.site_info()).sitename == "SUNARI UNR"
    finally:
        await lms.close()
