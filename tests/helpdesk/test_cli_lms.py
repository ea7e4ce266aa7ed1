"""`helpdesk lms check`, run as a real process against the Moodle test server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.helpdesk.test_cli import Helpdesk, assert_clean_failure
from tests.moodle.server import FakeMoodle


async def test_lms_check_passes_names_missing_functions_and_refuses_a_wrong_token(
    tmp_path: Path,
) -> None:
    helpdesk = Helpdesk(tmp_path)
    async with FakeMoodle() as moodle:
        env = {"HELPDESK_LMS__URL": moodle.url, "HELPDESK_LMS__TOKEN": moodle.token}
        passed = await asyncio.to_thread(helpdesk, "lms", "check", **env)
        moodle.allowed.discard("enrol_manual_enrol_users")
        missing = await asyncio.to_thread(helpdesk, "lms", "check", **env)
        wrong = await asyncio.to_thread(
            helpdesk, "lms", "check", **{**env, "HELPDESK_LMS__TOKEN": "wrong-token-42"}
        )
    unset = await asyncio.to_thread(helpdesk, "lms", "check")

    assert passed.returncode == 0, passed.stderr
    assert "LMS check passed: SUNARI UNR as helpdesk-ws" in passed.stdout
    assert_clean_failure(missing, "lacks these functions", "enrol_manual_enrol_users")
    assert_clean_failure(wrong, "refused the web-service token")
    assert "wrong-token-42" not in wrong.stderr + wrong.stdout
    assert_clean_failure(unset, "lms.url is not set")


async def test_lms_check_of_an_absent_lms_says_it_cannot_be_reached(tmp_path: Path) -> None:
    async with FakeMoodle() as moodle:
        url = moodle.url
    env = {"HELPDESK_LMS__URL": url, "HELPDESK_LMS__TOKEN": "t"}
    result = await asyncio.to_thread(Helpdesk(tmp_path), "lms", "check", **env)
    assert_clean_failure(result, "cannot be reached")
