"""Text normalisation shared by the plan and the rules: the harmless noise clerks type.

Only full-width ASCII letters and digits and white space are folded; Chinese
punctuation stays as typed, because names such as 长江镇（如皋港工业园区） use it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# Full-width ！..～ (U+FF01..U+FF5E) map to ASCII by a fixed offset; the ideographic
# space U+3000 becomes a plain space.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
# Keep the full-width brackets and punctuation a Chinese name is printed with.
for _ch in "（）：；，、。！？【】《》“”‘’":
    _FULLWIDTH.pop(ord(_ch), None)
_WS = re.compile(r"[\s\u00a0\u200b\ufeff]+")
_PARENS = str.maketrans({"(": "（", ")": "）"})


def fold_width(text: str) -> str:
    """Full-width letters, digits and ASCII punctuation to half-width."""
    return text.translate(_FULLWIDTH)


# Clerks repeat the same few values (categories, statuses, towns) thousands of times:
# caching the normalised form makes a 5,000-row sheet several times cheaper.
# Anything clean_text could change: white space of any kind (\s covers U+3000) and the
# full-width block. Most typed text has none of it and is returned as it is, which
# spares unique values (names, telephone numbers) the fold and the substitution.
_NEEDS_CLEANING = re.compile(r"[\s\u00a0\u200b\ufeff\uff01-\uff5e]")


def clean_text(text: str) -> str:
    """What a value means: full-width folded, outer white space removed, inner runs of
    white space collapsed to one space."""
    if _NEEDS_CLEANING.search(text) is None:
        return text
    return _clean_text(text)


def all_clean(texts: Iterable[str]) -> bool:
    """True when :func:`clean_text` leaves every one of ``texts`` as it is (one scan for
    a whole column instead of one call per value); False also for some that it leaves,
    those with white space inside."""
    # NUL is neither white space nor full-width, so no scan matches across values.
    joined = "\x00".join(texts)
    if _NEEDS_CLEANING.search(joined) is None:
        return True
    # Full-width brackets and punctuation are kept: only a fold or white space changes.
    return _WS.search(joined) is None and fold_width(joined) == joined


@functools.lru_cache(maxsize=8192)
def _clean_text(text: str) -> str:
    return _WS.sub(" ", fold_width(text)).strip()


_NEEDS_KEYING = re.compile(r"[\s\u00a0\u200b\ufeff\uff01-\uff5e()]")


def match_key(text: str) -> str:
    """A key for comparing a typed value with a list entry: no white space at all and
    half-width brackets treated as full-width ones."""
    if _NEEDS_KEYING.search(text) is None:  # the usual case, as with clean_text
        return text
    return _match_key(text)


def key_head(text: str) -> str:
    """The first character of :func:`match_key` of ``text`` ("" when it has none),
    without keying the whole text when its first character stays as it is."""
    if _NEEDS_KEYING.match(text) is None:
        return text[:1]
    return match_key(text)[:1]


def all_keys(texts: Iterable[str]) -> bool:
    """True when :func:`match_key` leaves every one of ``texts`` as it is (one scan for a
    whole column); False also for some that it leaves."""
    # NUL is neither white space, full-width nor a bracket: no match across values.
    return _NEEDS_KEYING.search("\x00".join(texts)) is None


@functools.lru_cache(maxsize=8192)
def _match_key(text: str) -> str:
    return _WS.sub("", fold_width(text)).translate(_PARENS)
