"""Email adapter (IMAP intake, SMTP replies); filled in by the email-channel work."""
