"""The training layer's error for bad input: a model name, option or data set it cannot
use. A HalfwaveError, so that the CLI prints it as one sentence (exit 2)."""

from __future__ import annotations

from halfwave.compiler.errors import HalfwaveError


class TrainingError(HalfwaveError, ValueError):
    """A model name, training option or data set that training cannot use."""
