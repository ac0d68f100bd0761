"""Counts and times in messages: "1 box", "2 boxes", "7:05", "about 4 min"; one home for each."""

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


def duration(seconds: float | None) -> str:
    """A measured time, as a clock shows it: "4.2 s", "42 s", "7:05", "1:02:03"; "?" when unknown."""
    if seconds is None:
        return "?"
    if seconds < 9.95:
        return f"{max(seconds, 0):.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def rough_duration(seconds: float) -> str:
    """An estimate, rounded as a person would say it: "40 s", "4 min", "1.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
