"""The scheduler's view of the settings."""

from __future__ import annotations

from datetime import time, timedelta

from helpdesk.app import helpdesk_config
from helpdesk.scheduling import schedule_config
from helpdesk.settings import load_settings


def test_settings_reach_the_scheduler() -> None:
    settings = load_settings(
        schedule={"quiet_start": "22:30", "quiet_end": "05:15", "training_reminders": [30, 120]},
        digest={"recipients": ["a@unr.ac.id"], "cron": "30 6 * * tue", "grace_hours": 6},
        workflows={"step_hours": {"6.C.f.2": 12}, "escalate_after_hours": 10},
        telegram={"staff_chat_id": -100500},
    )
    config = schedule_config(settings)
    assert (config.quiet_start, config.quiet_end) == (time(22, 30), time(5, 15))
    assert config.training_offsets == (120, 30)
    assert config.digest_recipients == ("a@unr.ac.id",)
    assert (config.digest_cron, config.digest_grace) == ("30 6 * * tue", timedelta(hours=6))
    assert config.step_hours == {"6.C.f.2": 12}
    assert config.escalate_after == timedelta(hours=10)
    assert config.staff_chat == ("telegram", "-100500")


def test_only_an_smtp_server_lets_the_handlers_and_the_scheduler_send_email() -> None:
    telegram_only = load_settings()
    address_only = load_settings(mail={"address": "elearning@unr.ac.id"})
    with_smtp = load_settings(
        smtp={"host": "smtp.unr.ac.id"}, mail={"address": "elearning@unr.ac.id"}
    )

    assert helpdesk_config(telegram_only).email is None
    rules = helpdesk_config(address_only).email
    assert rules is not None and not rules.sends  # mail can be read, none can leave
    for settings, sends in ((telegram_only, False), (address_only, False), (with_smtp, True)):
        assert settings.sends_email is sends
        assert helpdesk_config(settings).sends_email is sends
        assert schedule_config(settings).sends_email is sends
