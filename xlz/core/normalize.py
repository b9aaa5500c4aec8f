"""Parsers that turn a raw cell value into what it means, or say that they cannot.

Every parser takes the value exactly as a reader returned it (str, int, float, bool,
date/datetime, None) and returns the parsed value, or :data:`INVALID`. They never
turn something unreadable into 0: ``None`` means the cell is empty, ``INVALID`` means
the clerk must fix it. Bools are never numbers (Excel TRUE is not 1 here).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Final

from xlz.core.text import clean_text, match_key


class _Invalid:
    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"

    def __bool__(self) -> bool:
        return False


INVALID: Final = _Invalid()

# Excel's day 0 (the 1900 date system, with Lotus' phantom 1900-02-29 before day 60).
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_MAX_SERIAL = 2958465  # 9999-12-31

_COUNT_UNITS = re.compile(r"(个|件|项|家|次|场|人|份|平方米|平米|㎡|m2|m²)$", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_DATE_PARTS = re.compile(
    r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_CN_MONTHS = {
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
    "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11, "十二": 12,
}  # fmt: skip
_PHONE_CHARS = re.compile(r"[\s\-－—()（）+]")
_MOBILE = re.compile(r"^(86)?1[3-9]\d{9}$")
_PLAIN_MOBILE = re.compile(r"1[3-9][0-9]{9}")  # ASCII digits only, as _MOBILE after cleaning
_PLAIN_MOBILES = re.compile(r"1[3-9][0-9]{9}(?:\x001[3-9][0-9]{9})*")  # NUL-separated
# A landline needs its area code (0 + 2–3 digits): a bare 7–8 digit local number is not
# a number the city can dial, and the message asks for the area code (catalogue, PHONE).
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}(转\d{1,6}|ext\d{1,6})?$")

YEAR_ROUND = "全年"


def is_blank(value: object) -> bool:
    """Empty cell: None, or text that is only white space (zero-width spaces included)."""
    if value is None:
        return True
    return isinstance(value, str) and not value.strip().strip("\u200b\ufeff").strip()


def parse_text(value: object) -> str | None:
    """Text as meant: full-width folded, outer spaces removed. Numbers become their
    plain text (10.0 → "10") because readers return whole numbers as floats."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    text = clean_text(str(value))
    return text or None


def _decimal_text(value: str) -> Decimal | None:
    text = clean_text(value).replace(" ", "")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already rules this out
        return None


def parse_number(value: object, *, wan_yuan: bool = False) -> float | _Invalid | None:
    """A number. Text such as ``1,234``, ``２０００`` and, in a 万元 column, ``2000万``
    or ``2000万元`` (and ``1.5亿`` = 15000 万元) is read; anything else is INVALID."""
    if value is None:
        return None
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else INVALID
    if not isinstance(value, str):
        return INVALID
    text = clean_text(value).replace(" ", "")
    if not text:
        return None
    scale = Decimal(1)
    if wan_yuan:
        if text.endswith("万元"):
            text = text[:-2]
        elif text.endswith("万"):
            text = text[:-1]
        elif text.endswith("亿元") or text.endswith("亿"):
            text = text.rstrip("元")[:-1]
            scale = Decimal(10000)
        elif text.endswith("元"):
            return INVALID  # yuan, not 万元: the clerk must convert, we must not guess
    number = _decimal_text(text)
    if number is None:
        return INVALID
    return float(number * scale)


def parse_count(value: object) -> int | _Invalid | None:
    """A whole count. ``22个``, ``22件``, ``22.0`` and ``１２`` are read; 2.5 is INVALID."""
    if isinstance(value, str):
        stripped = clean_text(value).replace(" ", "")
        value = _COUNT_UNITS.sub("", stripped) if stripped else ""
        if value == "":
            return None if not stripped else INVALID
    number = parse_number(value)
    if number is None or number is INVALID:
        return number
    assert isinstance(number, float)
    if not number.is_integer():
        return INVALID
    return int(number)


def parse_area(value: object) -> float | _Invalid | None:
    """An area in m²; units such as 平方米 or ㎡ after the number are read."""
    if isinstance(value, str):
        stripped = clean_text(value).replace(" ", "")
        value = _COUNT_UNITS.sub("", stripped)
        if not value:
            return None if not stripped else INVALID
    return parse_number(value)


def parse_date(value: object) -> dt.date | _Invalid | None:
    """A date typed as a date, an Excel serial, ``2023.3.5``, ``2023-03-05``,
    ``2023/3/5``, ``2023年3月5日`` or ``20230305``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 1 <= value <= _MAX_SERIAL:
            return INVALID
        return (_EXCEL_EPOCH + dt.timedelta(days=int(value))).date()
    if not isinstance(value, str):
        return INVALID
    text = clean_text(value)
    if not text:
        return None
    match = _DATE_PARTS.match(text) or _DATE_COMPACT.match(text)
    if match is None:
        return INVALID
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return INVALID


def parse_month(value: object) -> int | str | _Invalid | None:
    """An activity month: 1–12 (``3``, ``3月``, ``三月``, ``３``) or 全年."""
    if value is None:
        return None
    if isinstance(value, str):
        text = clean_text(value).replace(" ", "")
        if not text:
            return None
        if text == YEAR_ROUND:
            return YEAR_ROUND
        text = text.removesuffix("份").removesuffix("月")
        if text in _CN_MONTHS:
            return _CN_MONTHS[text]
        value = text
    month = parse_count(value)
    if isinstance(month, int) and 1 <= month <= 12:
        return month
    return INVALID


def choice_index(choices: tuple[str, ...]) -> dict[str, str]:
    """Look-up table for :func:`parse_choice`: match key → list entry."""
    return {match_key(choice): choice for choice in choices}


def parse_choice(
    value: object, choices: tuple[str, ...] | dict[str, str]
) -> str | _Invalid | None:
    """The list entry a clerk meant (white space, width and bracket style ignored).
    Pass a :func:`choice_index` when checking many cells against one list."""
    text = parse_text(value)
    if text is None:
        return None
    index = choices if isinstance(choices, dict) else choice_index(choices)
    return index.get(match_key(text), INVALID)


def plain_mobiles(texts: Iterable[str]) -> bool:
    """Whether every one of ``texts`` is a mobile number typed plainly (for which
    :func:`phone_ok` is true at once): one scan for a whole column."""
    return _PLAIN_MOBILES.fullmatch("\x00".join(texts)) is not None


def phone_ok(text: str) -> bool:
    """Mainland mobile numbers (11 digits, 86 in front allowed) or landlines with their
    area code (``0513-87654321``, an extension ``转123`` allowed); a local number without
    area code (``87654321``, ``1381234``) is refused. Several numbers may be separated by
    、，; or /."""
    if _PLAIN_MOBILE.fullmatch(text):  # most cells: one mobile number, typed plainly
        return True
    digits = _PHONE_CHARS.sub("", clean_text(text))
    parts = [p for p in re.split(r"[,，;；/、]", digits) if p]
    return bool(parts) and all(_MOBILE.match(p) or _LANDLINE.match(p) for p in parts)
