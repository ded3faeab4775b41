"""The one exception type the compiler raises for bad or unsupported input."""


class CompileError(Exception):
    """A model the compiler cannot lower; the message names the node and the reason."""

    def __init__(self, message: str, node: str | None = None):
        self.node = node
        super().__init__(f"node '{node}': {message}" if node else message)
