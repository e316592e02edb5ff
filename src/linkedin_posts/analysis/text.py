"""What a reader counts in a post: characters as LinkedIn counts them, words, emoji, links."""

import re
import string
from dataclasses import dataclass
from itertools import filterfalse

import regex

from linkedin_posts.graphemes import split as clusters_of

GRAPHEME = regex.compile(r"\X")
# An emoji as a reader sees one: emoji-styled pictographs, text-styled ones turned emoji by VS16,
# flags (regional indicator pairs) and keycaps. A bare "©" or "™" is text.
EMOJI = regex.compile(r"\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|\p{RI}|\u20E3")
# What every EMOJI match holds: a character from U+20E3 on (tests/analysis/test_text.py checks
# that no emoji-presentation or regional indicator character comes before). `re` finds one in a
# tenth of the time EMOJI takes to find none, and most non-ASCII clusters (accented letters) have
# none.
MAY_HOLD_EMOJI = re.compile("[\u20e3-\U0010ffff]")
HAS_WORD = regex.compile(r"[\p{L}\p{N}]")
# A number with separators (1,000 or 3.5) is one word.
WORD = regex.compile(r"\p{N}+(?:[.,]\p{N}+)+|[\p{L}\p{N}][\p{L}\p{M}\p{N}'\u2019_-]*")
# WORD on ASCII text, where \p{L} and \p{N} are these and \p{M} is nothing.
ASCII_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)+|[A-Za-z0-9][A-Za-z0-9'_-]*")
BLANK_LINE = regex.compile(r"\n[ \t\r]*\n")
# A sentence ends at . ! ? … (and their CJK forms) followed by a space or the end, or at a line end.
SENTENCE_END = regex.compile(r"[.!?…\u3002\uff01\uff1f]+(?=\s|$)|\n")
# Links LinkedIn turns clickable: with a scheme, starting www., or a bare host on a common TLD.
# A bare host is written in lower case (so ASP.NET is not one) and is not an email's domain.
TOP_LEVEL_DOMAINS = "com|org|net|io|co|ai|dev|app|gl|ly|in|me|es|de|fr|uk"
LINK = re.compile(  # `re`: twice as fast as `regex` on this pattern
    r"(?i:\b(?:https?://|www\.))[^\s<>\"]+"
    rf"|(?<![@\w.])(?:[a-z0-9-]+\.)+(?:{TOP_LEVEL_DOMAINS})"
    r"(?:/[^\s<>\"]*)?\b"
)
# What every link holds somewhere: a text without it has none, and is not scanned with LINK, which
# tries both its branches at every position.
# Searched for one by one: `re` skips to a literal's first character only in a pattern that
# starts with one.
MAY_HOLD_LINK = (re.compile(rf"\.(?:{TOP_LEVEL_DOMAINS})"), re.compile(r"(?i:www\.)"))
# Punctuation that ends a sentence around a link rather than belonging to it.
LINK_TRAILING = ".,;:!?)]}'\"\u2019\u201d"


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of the text and where it is, in code points from the start."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Counts:
    characters: int
    graphemes: int
    words: int
    sentences: int
    lines: int
    paragraphs: int
    emojis: int


def graphemes(text: str) -> list[str]:
    return clusters_of(text)


def count(text: str, clusters: list[str], emoji: list[str]) -> Counts:
    stripped = text.strip()
    lines = stripped.split("\n") if stripped else []
    paragraphs = [block for block in BLANK_LINE.split(stripped) if block.strip()]
    sentences = sum(1 for piece in SENTENCE_END.split(stripped) if HAS_WORD.search(piece))
    return Counts(
        characters=len(text),
        graphemes=len(clusters),
        words=count_words(text),
        sentences=sentences,
        lines=len(lines),
        paragraphs=len(paragraphs),
        emojis=len(emoji),
    )


def count_words(text: str) -> int:
    """len(WORD.findall(text)), in about half the time.

    No match holds a space, so the text is counted piece by piece between spaces. A piece that is
    ASCII letters and digits, but for ASCII punctuation around them, is one word: none of that
    punctuation starts a word, and a number with a separator has it between digits. Other ASCII
    pieces are counted together with ASCII_WORD, the rest with WORD.
    """
    words = 0
    ascii_pieces: list[str] = []
    other_pieces: list[str] = []
    for piece in text.split():
        if not piece.isascii():
            other_pieces.append(piece)
        elif piece.strip(string.punctuation).isalnum():
            words += 1
        else:
            ascii_pieces.append(piece)
    if ascii_pieces:
        words += len(ASCII_WORD.findall(" ".join(ascii_pieces)))
    if other_pieces:
        words += len(WORD.findall(" ".join(other_pieces)))
    return words


def links(text: str) -> list[Span]:
    dot_domain, www = MAY_HOLD_LINK
    if "://" not in text and not dot_domain.search(text) and not www.search(text):
        return []
    found = []
    for match in LINK.finditer(text):
        url = match.group().rstrip(LINK_TRAILING)
        found.append(Span(url, match.start(), match.start() + len(url)))
    return found


def emojis(text: str, clusters: list[str]) -> list[str]:
    if not MAY_HOLD_EMOJI.search(text):
        return []
    # Most clusters are ASCII, which holds no emoji: the cheap tests first.
    return [
        c
        for c in filterfalse(str.isascii, clusters)
        if MAY_HOLD_EMOJI.search(c) and EMOJI.search(c)
    ]
