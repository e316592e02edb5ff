"""Text helpers shared by composing and rewriting: count, clip, wrap, reflow, keywords."""

import functools

import regex

from linkedin_posts.analysis import rules
from linkedin_posts.analysis.keywords import extract_keywords, stopwords_for
from linkedin_posts.analysis.text import GRAPHEME, WORD
from linkedin_posts.posts.schemas import count_graphemes

MAX_GRAPHEMES = rules.MAX_GRAPHEMES
LINE_LIMIT = rules.LONG_LINE
# A clipped key point (or, when shortening, a clipped passage) keeps at least this much, even
# past the target.
MIN_CLIPPED_POINT = 60
ELLIPSIS = "\u2026"
TERMINAL = ".!?" + ELLIPSIS
CLAUSE_END = regex.compile(r"[,;:](?=\s)")
SENTENCE_BREAK = regex.compile(r"(?<=[.!?\u2026])\s+")
SENTENCE_END = regex.compile(r"[.!?\u2026](?=\s)")
LIST_ITEM = regex.compile(r"^\s*(?:[-*\u2022\u2192\u25aa\u2023\u00b7>]+|\d{1,2}[.)])\s+")


def graphemes(text: str) -> int:
    if text.isascii():  # the one ASCII cluster of two characters is CR LF
        return len(text) - text.count("\r\n")
    return count_graphemes(text)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters: whole sentences if that keeps half, else whole words and "…"."""
    if len(text) <= limit:  # a cluster is at least one code point: no need to find them
        return text
    clusters = GRAPHEME.findall(text)
    if len(clusters) <= limit:
        return text
    if limit <= 1:
        return "".join(clusters[:limit])
    head = "".join(clusters[: limit - 1])
    half = len(head) // 2
    end = max((match.end() for match in SENTENCE_END.finditer(head)), default=0)
    if end >= half:
        return head[:end]
    space = max(head.rfind(" "), head.rfind("\n"))
    if space >= half:
        head = head[:space]
    return head.rstrip(" ,;:-\n\t") + ELLIPSIS


def _split_words(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, broken between words (inside one only if it must)."""
    if graphemes(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while graphemes(word) > limit:  # a word longer than a line: break it
            clusters = GRAPHEME.findall(word)
            if current:
                pieces.append(current)
                current = ""
            pieces.append("".join(clusters[:limit]))
            word = "".join(clusters[limit:])
        candidate = f"{current} {word}" if current else word
        if graphemes(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = word
    if current:
        pieces.append(current)
    return pieces


def _pack(line: str, limit: int) -> list[str]:
    """Whole sentences packed into lines of at most `limit` characters."""
    lines: list[str] = []
    current = ""
    for sentence in SENTENCE_BREAK.split(line.strip()):
        for piece in _split_words(sentence, limit) if sentence else ():
            candidate = f"{current} {piece}" if current else piece
            if graphemes(candidate) <= limit:
                current = candidate
            else:
                lines += [current] if current else []
                current = piece
    if current:
        lines.append(current)
    return lines or [line]


def _break_line(text: str, limit: int) -> tuple[str, str]:
    """The text cut into a first line of at most `limit` characters, after a comma, semicolon
    or colon in its second half if there is one, else between words; and the rest."""
    head = "".join(GRAPHEME.findall(text)[:limit])
    cut = max((m.end() for m in CLAUSE_END.finditer(head)), default=0)
    if cut < len(head) // 2:
        cut = head.rfind(" ") if " " in head else len(head)
    return text[:cut].rstrip(), text[cut:].strip()


def reflow(line: str, limit: int, first_limit: int | None = None) -> list[str]:
    """A long line as short paragraphs of whole sentences, each at most `limit` characters (a
    longer sentence alone, over several lines). With `first_limit`, the first line is kept
    within it, so it can be a hook."""
    paragraphs: list[str] = []
    current = ""
    sentences = [s for s in SENTENCE_BREAK.split(line.strip()) if s]
    if first_limit and sentences and graphemes(sentences[0]) > first_limit:
        first, rest = _break_line(sentences.pop(0), first_limit)
        paragraphs.append("\n".join([first, *(_split_words(rest, limit) if rest else [])]))
        first_limit = None
    for sentence in sentences:
        if graphemes(sentence) > limit:
            paragraphs += [current] if current else []
            paragraphs.append("\n".join(_split_words(sentence, limit)))
            current = ""
            continue
        room = first_limit if first_limit and not paragraphs else limit
        candidate = f"{current} {sentence}" if current else sentence
        if graphemes(candidate) <= room:
            current = candidate
        else:
            paragraphs += [current] if current else []
            current = sentence
    if current:
        paragraphs.append(current)
    return paragraphs or [line]


def wrap(paragraph: str, limit: int = LINE_LIMIT) -> str:
    """The paragraph with every line over `limit` characters broken into shorter ones."""
    lines: list[str] = []
    for line in paragraph.split("\n"):
        lines.extend([line] if graphemes(line) <= limit else _pack(line, limit))
    return "\n".join(lines)


# The variants of one request compose the same brief (seeds seed+0..seed+4), and each reads
# the keywords of the same few texts several times, as a rewrite does of its draft: extraction
# is the costliest step and pure, so it is cached. A tuple, so no caller can change a cached
# value; bounded, as its keys are whole texts.
@functools.lru_cache(maxsize=256)
def keywords(text: str, language: str) -> tuple[tuple[str, float], ...]:
    if not WORD.search(text):
        return ()
    return tuple(extract_keywords(text, stopwords=stopwords_for(language), top=8))


def plural(count: int, word: str) -> str:
    return f"{count:,} {word if count == 1 else word + 's'}"
