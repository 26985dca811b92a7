"""Unified social credit code (统一社会信用代码), GB 32100-2015."""
from __future__ import annotations

#: The 31 characters allowed (no I, O, Z, S, V), in the order that gives their values.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {char: index for index, char in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    """The 18th character for the first 17 (which must already be valid characters)."""
    total = sum(VALUES[char] * weight for char, weight in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Return why ``code`` is not a valid credit code, or None when it is.

    The reason is a key the caller turns into a message: ``length``, ``characters``,
    ``area`` or ``check``.
    """
    if len(code) != 18:
        return "length"
    if any(char not in VALUES for char in code):
        return "characters"
    if not code[2:8].isdigit():
        return "area"
    if check_character(code[:17]) != code[17]:
        return "check"
    return None


def normalise(code: str) -> str:
    return code.strip().upper()
