"""Telegram adapter: translates Bot API updates to and from the channel-independent handlers."""
