"""The allow-list for names that end up inside SQL text: feature keys (in JSON paths and
column names of the output) are never bound parameters, so they are checked here first."""

import re

MAX_KEY_LENGTH = 64
_ALLOWED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Checked in this order, so the message names the most telling problem.
_FORBIDDEN: tuple[tuple[str, str], ...] = (
    ("--", "an SQL comment starter '--'"),
    ("/*", "an SQL comment starter '/*'"),
    ("*/", "an SQL comment end '*/'"),
    ("#", "an SQL comment starter '#'"),
    ("'", "a single quote"),
    ('"', "a double quote"),
    ("`", "a backtick"),
    ("\\", "a backslash"),
    (".", "a dot (JSON path separator)"),
    ("$", "a '$' (JSON path root)"),
    (";", "a semicolon"),
    ("\x00", "a NUL character"),
)


def validate_feature_key(key: str) -> str:
    """Return `key` unchanged if it may be used as a feature key, else raise ValueError
    naming the problem. Allowed: ASCII letters, digits and '_', not starting with a digit,
    1 to 64 characters."""
    if not isinstance(key, str):
        raise ValueError(f"feature key must be a string, not {type(key).__name__}")
    if not key:
        raise ValueError("feature key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"feature key {key[:20]!r}… is longer than {MAX_KEY_LENGTH} characters")
    for needle, description in _FORBIDDEN:
        if needle in key:
            raise ValueError(f"feature key {key!r} contains {description}")
    if any(character.isspace() for character in key):
        raise ValueError(f"feature key {key!r} contains whitespace")
    if not key.isascii():
        odd = next(character for character in key if not character.isascii())
        raise ValueError(
            f"feature key {key!r} contains the non-ASCII character U+{ord(odd):04X} "
            "(only ASCII letters, digits and '_' are allowed)"
        )
    if not _ALLOWED.fullmatch(key):
        if key[0].isdigit():
            raise ValueError(f"feature key {key!r} starts with a digit")
        raise ValueError(
            f"feature key {key!r} has characters outside [A-Za-z0-9_] "
            "(only ASCII letters, digits and '_' are allowed)"
        )
    return key
