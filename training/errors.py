"""The training layer's user-error base: a model name, option, checkpoint or data set it
cannot use. The CLI prints such an error as one sentence (exit 2), as it does the
compiler's HalfwaveError; training imports nothing of the compiler."""

from __future__ import annotations


class TrainingError(ValueError):
    """A model name, training option, checkpoint or data set that training cannot use."""
