"""The lab's error types."""


class ConfigError(ValueError):
    """A config is wrong: the message names the file, the key, the value and what is allowed."""
