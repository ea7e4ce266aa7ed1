"""Component health: what each channel last reported, for /healthz, /metrics and alerts.

Components report through one callback, `on_status(component, ok, detail)`, after each
success or failure (names: `telegram`, `imap`, `smtp`, `lms`). The registry keeps the last
state of each; it never raises, so a reporter cannot be broken by it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from storage.types import utcnow

logger = logging.getLogger(__name__)

StatusCallback = Callable[[str, bool, str], None]
COMPONENTS = ("telegram", "imap", "smtp", "lms")
# The sender knows channels; the health page knows components.
CHANNEL_COMPONENT = {"telegram": "telegram", "email": "smtp"}


def no_status(component: str, ok: bool, detail: str) -> None:
    """The default callback: reports go nowhere."""


@dataclass
class ComponentState:
    """What one component said last, and since when it has been failing."""

    name: str
    ok: bool | None = None  # None: not heard from yet
    detail: str = ""
    last_success: datetime | None = None
    last_failure: datetime | None = None
    failing_since: datetime | None = None
    successes: int = 0
    failures: int = 0

    def failing_for(self, now: datetime) -> float:
        """Seconds this component has been failing without a success in between (0: fine)."""
        if self.failing_since is None:
            return 0.0
        return max(0.0, (now - self.failing_since).total_seconds())


@dataclass
class HealthRegistry:
    """The latest state of every component that reported, plus the service's counters."""

    clock: Callable[[], datetime] = utcnow
    components: dict[str, ComponentState] = field(default_factory=dict)
    started_at: datetime = field(default_factory=utcnow)

    def on_status(self, component: str, ok: bool, detail: str = "") -> None:
        """Record one report (the callback handed to the channels)."""
        state = self.components.get(component)
        if state is None:
            state = self.components[component] = ComponentState(component)
        now = self.clock()
        state.detail = detail[:300]
        if ok:
            state.successes += 1
            state.last_success, state.failing_since = now, None
        else:
            state.failures += 1
            state.last_failure = now
            state.failing_since = state.failing_since or now
            if state.ok is not False:
                logger.info("%s reports a failure: %s", component, state.detail)
        state.ok = ok

    def state(self, component: str) -> ComponentState:
        """One component's state (an empty one if it never reported)."""
        return self.components.get(component) or ComponentState(component)


def throttled(callback: StatusCallback, *, interval: float = 2.0) -> StatusCallback:
    """`callback`, passing a success on only when the state changed or `interval` passed.

    For reporters on a hot path (a report per message sent) whose reports cross a pipe.
    Failures always pass.
    """
    last: dict[str, tuple[bool, float]] = {}

    def report(component: str, ok: bool, detail: str) -> None:
        now = time.monotonic()
        previous = last.get(component)
        if ok and previous is not None and previous[0] and now - previous[1] < interval:
            return
        last[component] = (ok, now)
        callback(component, ok, detail)

    return report
