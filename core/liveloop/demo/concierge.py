"""The demo's handler: a restaurant concierge with a real booking tool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..app import App
from ..session import Session
from ..turns import SessionTurn

__all__ = ["CALLER_LINES", "GREETING", "Bookings", "concierge_app", "emulator_script"]

GREETING = "Hi, this is the front desk of Chez Loop. How can I help?"

CALLER_LINES = (
    "hello, can I book a table for two at half past seven",
    "do you have a terrace",
    "thank you, goodbye",
)
"""What the simulated caller says, one spoken turn each."""


class Bookings:
    """The restaurant's booking book: the concierge's tool writes here."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def book_table(self, name: str, people: int, time: str) -> dict[str, Any]:
        """Book a table at the restaurant.

        Args:
            name: who the booking is for
            people: how many guests
            time: the time of the booking, e.g. 19:30
        """
        entry = {"booking": len(self.entries) + 1, "name": name, "people": people, "time": time}
        self.entries.append(entry)
        return entry


def concierge_app(bookings: Bookings, on_turn: Callable[[SessionTurn], None]) -> App:
    """The concierge as a liveloop :class:`App` (handler name ``"concierge"``).

    The handler greets with ``say()``, then reads turns with ``input()`` (reporting each
    to ``on_turn``) and has the model answer each with ``respond()`` (which calls
    ``book_table`` when asked for a booking) until the caller says goodbye.
    """
    app = App(
        instructions=(
            "You are the front desk of a small restaurant, Chez Loop. Be brief. "
            "Use book_table to book tables and confirm the booking number. "
            "We have a terrace with six tables."
        ),
    )

    @app.session("concierge", tools=[bookings.book_table], auto_respond=False)
    async def concierge(session: Session) -> None:
        await session.say(GREETING)
        while True:
            turn = await session.input()
            on_turn(turn)
            await session.respond()
            if "goodbye" in turn.text.lower():
                return

    return app


def emulator_script() -> list[Any]:
    """The emulator's part in the demo: what its scripted "model" answers."""
    from liveloop_emulator import Rule

    return [
        Rule(
            match=r"book.*table",
            tool="book_table",
            arguments={"name": "Ann", "people": 2, "time": "19:30"},
            reply="Booked: a table for {output[people]} at {output[time]}, "
            "booking number {output[booking]}.",
        ),
        Rule(match="terrace", reply="Yes, we have a terrace with six tables."),
        Rule(match="goodbye", reply="Thank you for calling. Goodbye!"),
    ]
