"""SMS part counting: GSM-7 (160 single / 153 per part) or UCS-2 (70 / 67)."""
from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Characters of the extension table: each takes two septets.
GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsParts:
    encoding: str  # "GSM-7" or "UCS-2"
    #: Length in the encoding's units (septets for GSM-7, UTF-16 code units for UCS-2).
    units: int
    parts: int
    #: Units per part at this length (160/153 or 70/67).
    per_part: int


def count_parts(text: str) -> SmsParts:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return SmsParts(encoding, units, 1 if units else 0, single)
    return SmsParts(encoding, units, -(-units // multi), multi)
