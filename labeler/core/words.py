"""Counts in messages: "1 box", "2 boxes", "1 class", "0 images"."""

from __future__ import annotations


#: nouns whose plural the ending rule gets wrong ("ch" said as k)
_PLURALS = {"epoch": "epochs", "match": "matches"}


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, plural unless n is 1: an "es" after s, x, ch and sh, else an "s"."""
    if n == 1:
        return f"{n} {noun}"
    if plural is None:
        plural = _PLURALS.get(noun) or noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{n} {plural}"
