"""Real IMAP (Dovecot) and SMTP (aiosmtpd) servers on 127.0.0.1 for email-channel tests."""

from tests.mailservers.dovecot import DovecotServer, dovecot_server_fixture, require_dovecot
from tests.mailservers.smtp import CapturedMessage, SmtpSink, smtp_sink_fixture

__all__ = [
    "CapturedMessage",
    "DovecotServer",
    "SmtpSink",
    "dovecot_server_fixture",
    "require_dovecot",
    "smtp_sink_fixture",
]
