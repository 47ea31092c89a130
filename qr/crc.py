"""CRC-16/CCITT-FALSE, as EMVCo merchant-presented QR codes use it (tag 63).

Polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR; computed over the
payload's bytes up to and including the ``6304`` that introduces the CRC itself.
"""
from __future__ import annotations

import binascii


def crc16_ccitt_false(data: bytes) -> int:
    # binascii.crc_hqx is the same polynomial without reflection, in C; 0xFFFF is the start value.
    return binascii.crc_hqx(data, 0xFFFF)


def crc_hex(text: str) -> str:
    """The four upper-case hex digits that follow ``6304``."""
    return f"{binascii.crc_hqx(text.encode('utf-8'), 0xFFFF):04X}"
