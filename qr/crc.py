"""CRC-16/CCITT-FALSE, as EMVCo merchant-presented QR codes use it (tag 63).

Polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR; computed over the
payload's bytes up to and including the ``6304`` that introduces the CRC itself.
"""
from __future__ import annotations


def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _table()


def crc16_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    table = _TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


def crc_hex(text: str) -> str:
    """The four upper-case hex digits that follow ``6304``."""
    return f"{crc16_ccitt_false(text.encode('utf-8')):04X}"
