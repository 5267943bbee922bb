"""A restaurant concierge: a liveloop handler with a booking tool, talked to by typing.

Against OpenAI (needs ``OPENAI_API_KEY``)::

    uv run python examples/concierge.py

Offline, against the bundled emulator with a reply script that books a table::

    uv run liveloop console examples.concierge:app --script examples/concierge_script.json

Each line you type is a caller turn; the assistant's replies and tool calls print as they
happen; "goodbye" ends the call.
"""

from __future__ import annotations

import asyncio
from typing import Any

import liveloop

BOOKINGS: list[dict[str, Any]] = []


def book_table(name: str, people: int, time: str) -> dict[str, Any]:
    """Book a table at the restaurant.

    Args:
        name: who the booking is for
        people: how many guests
        time: the time of the booking, e.g. 19:30
    """
    booking = {"booking": len(BOOKINGS) + 1, "name": name, "people": people, "time": time}
    BOOKINGS.append(booking)
    return booking


app = liveloop.App(
    instructions=(
        "You are the front desk of a small restaurant. Be brief. "
        "Use book_table to book tables; confirm the booking number."
    ),
)


@app.session("concierge", tools=[book_table])
async def concierge(session: liveloop.Session) -> None:
    await session.say("Hi, this is the front desk. How can I help?")
    while True:
        turn = await session.input()
        if "goodbye" in turn.text.lower():
            await session.say("Thank you for calling. Goodbye!")
            return


if __name__ == "__main__":
    from liveloop.console import run_console

    try:
        asyncio.run(run_console(f"{__name__}:app", live=True))
    except liveloop.LiveloopError as error:
        raise SystemExit(f"error: {error}") from None
