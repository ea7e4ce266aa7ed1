"""The sliding-window limiter: never more than the limit in any window, delays included."""

from __future__ import annotations

import asyncio
import time

from bot.ratelimit import Window, WindowRateLimiter


async def test_no_period_holds_more_than_the_limit_even_with_slow_answers() -> None:
    window = Window(5, 0.3)
    starts: list[float] = []
    ends: list[float] = []

    async def request(delay: float) -> None:
        await window.acquire()
        starts.append(time.monotonic())
        await asyncio.sleep(delay)  # the server may see it any time until the answer
        ends.append(time.monotonic())
        window.release()

    await asyncio.gather(*(request(0.05 * (n % 3)) for n in range(20)))

    # Every server receipt lies in [start, end]; with ends as the latest possible, a
    # window of 0.3 s starting at any start must not hold more than 5 starts or ends.
    for t in starts:
        inside = [s for s, e in zip(starts, ends, strict=True) if t <= e and s < t + 0.3]
        assert len(inside) <= 5


async def test_private_chats_and_chatless_calls_are_not_held_by_a_group() -> None:
    limiter = WindowRateLimiter(overall=(100, 1.0), per_group=(1, 60.0))
    done: list[str] = []

    async def call(name: str) -> bool:
        done.append(name)
        return True

    await limiter.process_request(call, ("g1",), {}, "sendMessage", {"chat_id": -100}, None)
    blocked = asyncio.create_task(
        limiter.process_request(call, ("g2",), {}, "sendMessage", {"chat_id": -100}, None)
    )
    await limiter.process_request(call, ("p",), {}, "sendMessage", {"chat_id": 5}, None)
    await limiter.process_request(call, ("q",), {}, "answerCallbackQuery", {}, None)
    await asyncio.sleep(0.05)
    assert done == ["g1", "p", "q"]  # the second group message waits its minute
    blocked.cancel()
