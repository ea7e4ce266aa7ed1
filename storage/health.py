"""Queue lengths for the health page: stored input and outgoing messages by state."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundUpdate, OutboxMessage


async def queue_lengths(session: AsyncSession) -> dict[str, dict[str, int]]:
    """{"inbound": {"pending": n, "failed": n}, "outbox": {...}} (done/sent not counted)."""
    result: dict[str, dict[str, int]] = {}
    for name, table in (("inbound", InboundUpdate), ("outbox", OutboxMessage)):
        query = (
            select(table.status, func.count())
            .where(table.status.in_(("pending", "failed")))
            .group_by(table.status)
        )
        counts = {"pending": 0, "failed": 0}
        counts.update({str(status): int(n) for status, n in (await session.execute(query))})
        result[name] = counts
    return result
