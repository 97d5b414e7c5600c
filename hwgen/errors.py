"""Exceptions that carry a user-facing message. The CLI prints them as one line, exit code 2
(:class:`HwgenError`) or 1 (:class:`DesignMismatch`)."""


class HwgenError(Exception):
    """The input or environment is bad: the message says what is wrong and what to do."""


class UnsupportedModelError(HwgenError):
    """The model uses an op, attribute or numeric format hwgen cannot compile exactly."""


class ConfigError(HwgenError):
    """A configuration file or option is malformed (unknown key, bad value)."""


class DesignMismatch(Exception):
    """The design was checked and is wrong (e.g. RTL disagrees with the golden model)."""
