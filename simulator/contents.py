"""What banks do to a transfer content on its way (``bank-specs/README.md``, "What happens to
the transfer content"; DOMAIN.md, "Transfers in practice"), as named, seedable patterns.

The payer's app fills the content from the QR purpose (the payment reference first, then a
short label); the payer may edit it; the bank or switch wraps it; the channel may cut it.
:func:`alter` applies one pattern, or a ``combo`` of several in that order:

=========  ==============================================================================
stage      patterns
=========  ==============================================================================
payer      ``punctuation`` (separators replaced, removed or inserted), ``spaces`` (spaces
           typed inside the reference)
wrap       ``vcb`` (``MBVCB.<10 digits>.<text>.CT tu <acct> <NAME> toi <acct> <NAME>``),
           ``trace`` (``<trace>.<ddmmyy>.<hhmmss>.<text>``), ``napas247`` (``CT nhanh 247
           den: <text>``), ``napas_in`` (``Chuyen tien den tu NAPAS Noi dung: <text>``),
           ``ibft`` (``IBFT <text>``), ``qr`` (``QR - <text>``), ``tkthe`` (``TKThe :<acct>,
           tai <BANK>. <text>``), ``zalopay`` (``ZP<yymmdd><6 digits> <text>``), ``momo``
           (``<text> - Chuyen tien tu vi MoMo <11 digits>``)
suffix     ``suffix_ft`` (``... FT24xxxxxxxxx``), ``trace_suffix`` (``... Ma giao dich
           Trace756759``), ``alias`` (``... (CT1111)``)
recode     ``plain`` (nothing), ``upper``, ``lower``, ``no_diacritics``
channel    ``line_break``, ``truncate50``, ``truncate100``, ``truncate210``, ``dropped``
           (only a bank prefix is left)
=========  ==============================================================================

The wallet shapes (``momo``, ``zalopay``) are approximations: the public statements show
that wallets wrap contents, not one fixed layout.

Which patterns keep the reference (given a text that starts with it, as the service's QR
purpose does): every single pattern except ``dropped``. The one real risk is a cut after a
prefix; :func:`keeps_reference` computes it from each pattern's longest prefix and how many
characters the payer's edits can insert inside the reference. The longest prefixes are
``napas_in`` (35 characters), ``tkthe`` (33) and ``trace`` (25), so ``truncate50`` leaves at
least 15 characters for the text: a clean reference (11) always fits, and so does one with
the payer's spaces (up to 3) or separators (up to 2), but not both after ``napas_in``
(35 + 11 + 5 > 50): that is the only payer + wrapper + cut combination that can cut the
reference. A cut reference never becomes another valid one (it is too short to be one), so
it goes to a person. ``truncate100`` and ``truncate210`` keep it after any one wrapper.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from qr.text import strip_diacritics

REFERENCE_LENGTH = 11  # payments.references.LENGTH (bank_adapters does not import payments)

FAMILY = ("NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "HUYNH", "PHAN", "VU", "VO", "DANG", "BUI", "DO", "HO",
          "NGO", "DUONG", "LY", "TRINH", "DINH", "MAI", "TO")
MIDDLE = ("VAN", "THI", "DUC", "MINH", "NGOC", "THANH", "HUU", "QUANG", "XUAN", "THU", "KIM", "ANH", "HONG",
          "DINH", "GIA", "BAO")
GIVEN = ("AN", "BINH", "CUONG", "DUNG", "HA", "HAI", "HANH", "HIEU", "HOA", "HUNG", "HUONG", "KHANH", "LAN",
         "LINH", "LONG", "MAI", "NAM", "NGA", "PHUONG", "QUAN", "SON", "THAO", "THU", "TRANG", "TUAN", "VIET",
         "YEN", "DUY", "GIANG", "TAM", "TRUNG", "HIEN", "PHUC", "THANG")
PAYEE_NAMES = ("TRUNG TAM PHUC VU HANH CHINH CONG TP HA NOI", "VAN PHONG DANG KY DAT DAI HA NOI",
               "SO NONG NGHIEP VA MOI TRUONG TP HA NOI", "UBND PHUONG HOAN KIEM", "UBND XA SOC SON")
BANK_CODES = ("VCB", "BIDV", "ICB", "TCB", "MB", "ACB", "VPB", "TPB", "STB", "VBA", "SHB", "HDB")


def payer_name(rng: random.Random) -> str:
    """A Vietnamese full name as banks write it (upper case, no diacritics)."""
    parts = [rng.choice(FAMILY)] + [rng.choice(MIDDLE) for _ in range(rng.choice((1, 1, 2)))] + [rng.choice(GIVEN)]
    return " ".join(parts)


def account_number(rng: random.Random) -> str:
    """A 10 to 14 digit account number."""
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(10, 14)))


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _date_time(rng: random.Random) -> tuple[str, str, str]:
    """(ddmmyy, hhmmss, yy+day-of-year) of a random moment in 2024–2026."""
    year = rng.randint(2024, 2026)
    day_of_year = rng.randint(1, 365)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    clock = f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"
    return f"{day:02d}{month:02d}{year % 100:02d}", clock, f"{year % 100:02d}{day_of_year:03d}"


# --- payer -------------------------------------------------------------------------------------

_SEPARATORS = (".", "-", "_", "/")
MAX_PUNCTUATION_INSERTED = 2
MAX_SPACES_INSERTED = 3


def _first_token_span(text: str) -> tuple[int, int]:
    match = re.search(r"\S+", text)
    return (match.start(), match.end()) if match else (0, 0)


def _insert_inside_first_token(text: str, rng: random.Random, pieces: Sequence[str]) -> str:
    start, end = _first_token_span(text)
    if end - start < 2:
        return text
    positions = sorted(rng.randint(start + 1, end - 1) for _ in pieces)
    out, last = [], 0
    for position, piece in zip(positions, pieces):
        out.append(text[last:position])
        out.append(piece)
        last = position
    out.append(text[last:])
    return "".join(out)


def punctuation(text: str, rng: random.Random) -> str:
    """Separators replaced by others, removed, or inserted (``HS7K2-M9QXA4.PHI_LE/PHI``)."""
    text = re.sub(r"[ .\-_/]", lambda _m: rng.choice(_SEPARATORS + (" ", "")), text)
    inserted = [rng.choice(_SEPARATORS) for _ in range(rng.randint(0, MAX_PUNCTUATION_INSERTED))]
    return _insert_inside_first_token(text, rng, inserted)


def spaces(text: str, rng: random.Random) -> str:
    """Spaces typed inside the reference by a payer copying it by hand (``HS7K 2M9Q XA4``)."""
    return _insert_inside_first_token(text, rng, [" "] * rng.randint(1, MAX_SPACES_INSERTED))


# --- wrap --------------------------------------------------------------------------------------

def vcb(text: str, rng: random.Random) -> str:
    return (f"MBVCB.{_digits(rng, 10)}.{text}.CT tu {account_number(rng)} {payer_name(rng)} "
            f"toi {account_number(rng)} {rng.choice(PAYEE_NAMES)}")


def trace(text: str, rng: random.Random) -> str:
    day, clock, _ = _date_time(rng)
    return f"{_digits(rng, rng.randint(6, 10))}.{day}.{clock}.{text}"


def napas247(text: str, rng: random.Random) -> str:
    return f"CT nhanh 247 den: {text}"


def napas_in(text: str, rng: random.Random) -> str:
    return f"Chuyen tien den tu NAPAS Noi dung: {text}"


def ibft(text: str, rng: random.Random) -> str:
    return f"IBFT {text}"


def qr(text: str, rng: random.Random) -> str:
    return f"QR - {text}"


def tkthe(text: str, rng: random.Random) -> str:
    return f"TKThe :{account_number(rng)}, tai {rng.choice(BANK_CODES)}. {text}"


def zalopay(text: str, rng: random.Random) -> str:
    day, _, _ = _date_time(rng)
    return f"ZP{day[4:]}{day[2:4]}{day[:2]}{_digits(rng, 6)} {text}"


def momo(text: str, rng: random.Random) -> str:
    return f"{text} - Chuyen tien tu vi MoMo {_digits(rng, 11)}"


# --- suffix ------------------------------------------------------------------------------------

def suffix_ft(text: str, rng: random.Random) -> str:
    _, _, year_day = _date_time(rng)
    return f"{text} FT{year_day}{_digits(rng, 6)}"


def trace_suffix(text: str, rng: random.Random) -> str:
    return f"{text} Ma giao dich Trace{_digits(rng, 6)}"


def alias(text: str, rng: random.Random) -> str:
    return f"{text} (CT{_digits(rng, 4)})"


# --- recode ------------------------------------------------------------------------------------

def plain(text: str, rng: random.Random) -> str:
    return text


def upper(text: str, rng: random.Random) -> str:
    return text.upper()


def lower(text: str, rng: random.Random) -> str:
    return text.lower()


def no_diacritics(text: str, rng: random.Random) -> str:
    return strip_diacritics(text)


# --- channel -----------------------------------------------------------------------------------

def line_break(text: str, rng: random.Random) -> str:
    """The content split across statement lines (one or two breaks, anywhere)."""
    for _ in range(rng.randint(1, 2)):
        if len(text) < 2:
            break
        position = rng.randint(1, len(text) - 1)
        text = text[:position] + rng.choice(("\n", "\r\n", " \n")) + text[position:]
    return text


def _truncate(limit: int) -> Callable[[str, random.Random], str]:
    def cut(text: str, rng: random.Random) -> str:
        return text[:limit]
    cut.__name__ = f"truncate{limit}"
    return cut


_DROPPED_PREFIXES: tuple[Callable[[random.Random], str], ...] = (
    lambda rng: f"MBVCB.{_digits(rng, 10)}.",
    lambda rng: "IBFT",
    lambda rng: "QR -",
    lambda rng: "CT nhanh 247 den:",
    lambda rng: "Chuyen tien den tu NAPAS Noi dung:",
    lambda rng: f"TKThe :{account_number(rng)}, tai {rng.choice(BANK_CODES)}.",
    lambda rng: f"MBVCB.{_digits(rng, 10)}.CT tu {account_number(rng)} {payer_name(rng)}",
)


def dropped(text: str, rng: random.Random) -> str:
    """The content is gone; only the bank's prefix is left."""
    return rng.choice(_DROPPED_PREFIXES)(rng)


@dataclass(frozen=True)
class Pattern:
    name: str
    stage: str
    apply: Callable[[str, random.Random], str]
    prefix_max: int = 0        # the most characters it can put in front of the text
    inserts_max: int = 0       # the most characters it can insert inside the reference
    cut: int | None = None     # the length it cuts to
    keeps: bool = True         # whether it keeps the text at all


STAGES = ("payer", "wrap", "suffix", "recode", "channel")
_LONGEST_BANK = max(len(code) for code in BANK_CODES)

PATTERNS: dict[str, Pattern] = {p.name: p for p in (
    Pattern("punctuation", "payer", punctuation, inserts_max=MAX_PUNCTUATION_INSERTED),
    Pattern("spaces", "payer", spaces, inserts_max=MAX_SPACES_INSERTED),
    Pattern("vcb", "wrap", vcb, prefix_max=len("MBVCB.") + 10 + 1),
    Pattern("trace", "wrap", trace, prefix_max=10 + 1 + 6 + 1 + 6 + 1),
    Pattern("napas247", "wrap", napas247, prefix_max=len("CT nhanh 247 den: ")),
    Pattern("napas_in", "wrap", napas_in, prefix_max=len("Chuyen tien den tu NAPAS Noi dung: ")),
    Pattern("ibft", "wrap", ibft, prefix_max=len("IBFT ")),
    Pattern("qr", "wrap", qr, prefix_max=len("QR - ")),
    Pattern("tkthe", "wrap", tkthe, prefix_max=len("TKThe :") + 14 + len(", tai ") + _LONGEST_BANK + len(". ")),
    Pattern("zalopay", "wrap", zalopay, prefix_max=len("ZP") + 6 + 6 + 1),
    Pattern("momo", "wrap", momo),
    Pattern("suffix_ft", "suffix", suffix_ft),
    Pattern("trace_suffix", "suffix", trace_suffix),
    Pattern("alias", "suffix", alias),
    Pattern("plain", "recode", plain),
    Pattern("upper", "recode", upper),
    Pattern("lower", "recode", lower),
    Pattern("no_diacritics", "recode", no_diacritics),
    Pattern("line_break", "channel", line_break, inserts_max=6),  # two breaks of up to 3 characters
    Pattern("truncate50", "channel", _truncate(50), cut=50),
    Pattern("truncate100", "channel", _truncate(100), cut=100),
    Pattern("truncate210", "channel", _truncate(210), cut=210),
    Pattern("dropped", "channel", dropped, keeps=False),
)}
COMBO = "combo"
NAMES = tuple(PATTERNS) + (COMBO,)


def combo(rng: random.Random) -> tuple[str, ...]:
    """Several patterns as they happen together: payer edits, at most one wrapper, suffixes,
    a recoding, at most one channel effect (in that order; see :data:`STAGES`)."""
    by_stage = {stage: [p.name for p in PATTERNS.values() if p.stage == stage] for stage in STAGES}
    chosen: list[str] = []
    chosen += rng.sample(by_stage["payer"], rng.randint(0, 2))
    if rng.random() < 0.8:
        chosen.append(rng.choice(by_stage["wrap"]))
    chosen += rng.sample(by_stage["suffix"], rng.randint(0, 2))
    if rng.random() < 0.7:
        chosen.append(rng.choice(by_stage["recode"]))
    if rng.random() < 0.6:
        effects = [name for name in by_stage["channel"] if name != "dropped"]
        chosen.append("dropped" if rng.random() < 0.05 else rng.choice(effects))
    while len(chosen) < 2:  # a combination is at least two
        chosen.append(rng.choice([name for name in by_stage["suffix"] if name not in chosen]))
    return tuple(sorted(chosen, key=lambda name: STAGES.index(PATTERNS[name].stage)))


def alter(text: str, pattern: str | Sequence[str] | None = None,
          rng: random.Random | None = None) -> tuple[str, tuple[str, ...]]:
    """``text`` as it may arrive, and the names of the patterns applied (a ``combo`` is
    returned as its parts). ``pattern``: a name from :data:`NAMES`, several names (applied in
    the order given), or None for a random one."""
    rng = rng or random.Random()
    if pattern is None:
        pattern = rng.choice(NAMES)
    if isinstance(pattern, str):
        names = combo(rng) if pattern == COMBO else (pattern,)
    else:
        names = tuple(pattern)
    for name in names:
        if name not in PATTERNS:
            raise ValueError(f"unknown content pattern {name!r}; known: {', '.join(NAMES)}")
        text = PATTERNS[name].apply(text, rng)
    return text, names


def keeps_reference(names: Sequence[str]) -> bool:
    """Whether a reference at the start of the text is sure to survive ``names`` whole:
    nothing drops the text, and every cut comes after at most the longest prefix plus the
    reference grown by the payer's insertions."""
    patterns = [PATTERNS[name] for name in names]
    if not all(p.keeps for p in patterns):
        return False
    prefix = 0
    length = REFERENCE_LENGTH
    for p in patterns:
        if p.cut is not None and prefix + length > p.cut:
            return False
        prefix += p.prefix_max
        length += p.inserts_max
    return True
