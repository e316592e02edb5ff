"""The fold: what LinkedIn shows of a post before "…see more".

The feed cuts a post after about 210 characters on desktop, and after about 140 characters or
3 lines, whichever comes first, on mobile. LinkedIn publishes neither number; these are the
figures creators measure and repeat, and the constants to change if LinkedIn moves them.
"""

from dataclasses import dataclass

DESKTOP_CHARACTERS = 210
MOBILE_CHARACTERS = 140
MOBILE_LINES = 3


@dataclass(frozen=True, slots=True)
class Fold:
    visible: str
    truncated: bool
    hook_fits: bool


def hook_of(text: str) -> str:
    """The opening a reader judges the post by: its first non-blank line."""
    for line in text.split("\n"):
        if line.strip():
            return line.strip()
    return ""


def fold(clusters: list[str], *, hook: str, characters: int, lines: int | None) -> Fold:
    """What a reader sees of the text (given as grapheme clusters) before "…see more"."""
    start, end = 0, len(clusters)
    while start < end and clusters[start].isspace():
        start += 1
    while end > start and clusters[end - 1].isspace():
        end -= 1
    stop = min(start + characters, end)
    if lines is not None:
        seen = 0
        for index in range(start, stop):
            if "\n" in clusters[index]:
                seen += 1
                if seen == lines:
                    stop = index
                    break
    truncated = stop < end
    if truncated and not clusters[stop - 1].isspace() and not clusters[stop].isspace():
        # LinkedIn does not split a word: the cut falls back to the last space before it.
        for index in range(stop - 1, start, -1):
            if clusters[index].isspace():
                stop = index
                break
    visible = "".join(clusters[start:stop]).rstrip()
    return Fold(visible, truncated, hook_fits=visible.startswith(hook))


def desktop(clusters: list[str], hook: str) -> Fold:
    return fold(clusters, hook=hook, characters=DESKTOP_CHARACTERS, lines=None)


def mobile(clusters: list[str], hook: str) -> Fold:
    return fold(clusters, hook=hook, characters=MOBILE_CHARACTERS, lines=MOBILE_LINES)
