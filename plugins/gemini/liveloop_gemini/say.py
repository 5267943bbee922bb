"""The user-turn text that asks a Gemini model to voice a text verbatim.

Gemini Live has no "say this" mode: ``session.say(text)`` becomes a ``clientContent``
turn asking for exact repetition. Models mostly comply but may paraphrase (the
``verbatim_say`` flag is false for Gemini); the bundled emulator recognises exactly
this form and voices the text word for word. Change it only together with the emulator.
"""

from __future__ import annotations

__all__ = ["SAY_INSTRUCTIONS", "say_instructions"]

SAY_INSTRUCTIONS = (
    'Say exactly the following text, word for word, and nothing else:\n"""\n{text}\n"""'
)
"""The template; ``{text}`` is replaced by the text to say."""


def say_instructions(text: str) -> str:
    """The request to say ``text`` word for word (the text is inserted as is)."""
    return SAY_INSTRUCTIONS.format(text=text)
