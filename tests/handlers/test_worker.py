"""The workers' pause: news or a stop that comes while a worker is busy is not lost.

The bug this guards against: the pause cleared its wake-up event when it began, so a wake
(or a stop) that came after the worker had looked for work, but before it paused, was
wiped out. Replies then waited for the sender's timer (up to 5 s), and a SIGTERM that
came while the deliverer read the outbox made `helpdesk run` take over 5 s to stop.
"""

from __future__ import annotations

import asyncio

from handlers.worker import Worker

LONG = 30.0  # a pause that, if it ran out, would fail the test by its length


async def _timed(pause: asyncio.Future[None] | object) -> float:
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pause  # type: ignore[misc]
    return loop.time() - began


async def test_a_wake_while_busy_ends_the_next_pause_at_once_and_only_that_one() -> None:
    worker = Worker()
    worker.wake()  # news while the worker handles a batch, after it looked for work

    assert await asyncio.wait_for(_timed(worker._pause(LONG)), 5) < 1.0
    assert await _timed(worker._pause(0.2)) >= 0.19  # used up: the next pause waits again


async def test_a_stop_while_busy_ends_the_next_pause_at_once() -> None:
    worker = Worker()
    worker.stop()  # SIGTERM while the deliverer reads the outbox

    assert await asyncio.wait_for(_timed(worker._pause(LONG)), 5) < 1.0
    assert await asyncio.wait_for(_timed(worker._pause(LONG, until_wake=False)), 5) < 1.0


async def test_a_back_off_is_not_cut_short_by_news_but_is_by_a_stop() -> None:
    worker = Worker()
    worker.wake()
    assert await _timed(worker._pause(0.2, until_wake=False)) >= 0.19

    backing_off = asyncio.create_task(worker._pause(LONG, until_wake=False))
    await asyncio.sleep(0.05)
    worker.stop()
    await asyncio.wait_for(backing_off, 5)
