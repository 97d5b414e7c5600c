"""Exceptions that carry a user-facing message. The CLI prints them as one line, exit code 2
(:class:`HwgenError`) or 1 (:class:`DesignMismatch`); any other exception is a bug (exit 3)."""


class HwgenError(Exception):
    """The input or environment is bad: the message says what is wrong and what to do."""


class UnsupportedModelError(HwgenError):
    """The model uses an op, attribute or numeric format hwgen cannot compile exactly."""


class ConfigError(HwgenError):
    """A configuration file or option is malformed (unknown key, bad value)."""


class NeedsConfigError(HwgenError):
    """A float model needs precisions hwgen cannot infer; ``layers`` lists the model's
    ``(node name, op type)`` pairs, the names a config file uses."""

    def __init__(self, message: str, layers: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.layers = layers


class DesignMismatch(Exception):
    """The design was checked and is wrong (e.g. RTL disagrees with the golden model)."""
