"""Guided flows: course creation, enrollment and account activation, step by step."""
