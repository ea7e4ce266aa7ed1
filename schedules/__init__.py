"""Scheduled work (reminders, digests); filled in by the reminders work."""
