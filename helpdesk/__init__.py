"""Composition root: settings, command line and start-up."""
