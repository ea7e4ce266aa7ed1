"""The health server and the alert monitor as one supervised task of `helpdesk run`."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from handlers.health_monitor import HealthMonitor
from helpdesk.health_server import HealthServer

if TYPE_CHECKING:
    from helpdesk.app import Service

logger = logging.getLogger(__name__)


class HealthTasks:
    """Serves /healthz and /metrics (when `health.port` is set) and runs the monitor."""

    def __init__(self, service: Service) -> None:
        settings = service.settings.health
        self.service = service
        self.settings = settings
        self.server: HealthServer | None = None
        if settings.port:
            self.server = HealthServer(
                service.health,
                service.sessions,
                thresholds=settings.alert_after,
                counters=self.counters,
            )
        # The IMAP intake tells staff itself (the group and the staff addresses, after
        # mail.alert_after): the monitor leaves it out so nobody is told twice; /healthz
        # still shows it.
        alerting = {**settings.alert_after, "imap": math.inf}
        self.monitor = HealthMonitor(
            service.sessions,
            service.health,
            service.helpdesk.config,
            thresholds=alerting,
            interval=settings.check_interval,
        )

    def counters(self) -> dict[str, int]:
        """What this process counted since it started."""
        processor, sender = self.service.processor, self.service.sender
        counts = {
            "updates_handled_total": processor.handled_count,
            "updates_failed_total": processor.failed_count,
            "telegram_updates_received_total": self.service.telegram.received,
        }
        if sender is not None:  # in process delivery, the outbox gauges tell what was sent
            counts["messages_sent_total"] = sender.sent_count
        return counts

    async def run(self) -> None:
        """Serve and monitor until `stop`."""
        if self.server is not None:
            await self.server.start(self.settings.listen, self.settings.port)
        try:
            await self.monitor.run()
        finally:
            if self.server is not None:
                await self.server.stop()

    def stop(self) -> None:
        """Stop after the current check."""
        self.monitor.stop()
