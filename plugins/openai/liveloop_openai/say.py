"""The per-response instructions that make the model voice a text verbatim.

``session.say(text)`` becomes a ``response.create`` whose instructions are
:func:`say_instructions` of the text. The bundled emulator recognises exactly this form
(it keeps its own copy, checked equal by a test), and the wording works with OpenAI's
models, so change it only together with the emulator.
"""

from __future__ import annotations

__all__ = ["SAY_INSTRUCTIONS", "say_instructions"]

SAY_INSTRUCTIONS = (
    'Say exactly the following text, word for word, and nothing else:\n"""\n{text}\n"""'
)
"""The template; ``{text}`` is replaced by the text to say."""


def say_instructions(text: str) -> str:
    """Return the instructions that ask the model to say ``text`` word for word.

    The text is inserted as is (braces and quotes in it are kept).
    """
    return SAY_INSTRUCTIONS.format(text=text)
