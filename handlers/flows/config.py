"""What the guided flows need to know about the deployment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class FlowConfig:
    """Faculty list, reminder and expiry times, and the activation code's limits."""

    # Faculty -> its study programmes. Empty: both are asked as free text.
    faculties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    remind_after: timedelta = timedelta(hours=24)
    expire_after: timedelta = timedelta(hours=72)
    check_every: float = 300.0  # seconds between two looks for idle flows
    code_ttl: timedelta = timedelta(minutes=15)
    code_attempts: int = 5
    codes_per_hour: int = 3
