"""User errors: the one base class the `halfwave` command turns into one sentence.

Every error caused by the user's input (a model, a file, a board, an option) derives
from `HalfwaveError`; the CLI prints its message and exits 2. Any other exception is a
bug in halfwave: the CLI lets its traceback through (exit 1). This module imports
nothing, so every package (training included) may derive its errors from it.
"""


class HalfwaveError(Exception):
    """Bad or unsupported input; the message is one sentence naming what is wrong."""


class CompileError(HalfwaveError):
    """A model the compiler cannot lower; the message names the node and the reason."""

    def __init__(self, message: str, node: str | None = None):
        self.node = node
        super().__init__(f"node '{node}': {message}" if node else message)


class InputError(HalfwaveError):
    """A file or array the user gave cannot be used (missing, unreadable, wrong shape)."""


class BoardError(HalfwaveError):
    """A board flow request the board cannot satisfy (link, clock, DDR path, tools)."""
