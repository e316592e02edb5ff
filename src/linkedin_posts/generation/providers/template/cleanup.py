"""Plain text from styled letters, Markdown bold, control characters and shouting."""

import unicodedata

import regex

from linkedin_posts.analysis import rules
from linkedin_posts.analysis.keywords import stopwords_for
from linkedin_posts.generation.providers.template.phrases import LANGUAGES
from linkedin_posts.generation.providers.template.text import TERMINAL

MARKDOWN_BOLD = regex.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
CAPS_WORD = regex.compile(r"\b\p{Lu}{2,}\b")


def _common(word: str) -> bool:
    """Whether a word in capitals is shouting rather than an acronym (AWS, SQL, UX): long, or
    a stop word of a language the provider writes."""
    lower = word.lower()
    return len(word) >= 4 or any(lower in stopwords_for(code) for code in LANGUAGES)


def tone_down(text: str) -> tuple[str, int]:
    """Lower-case runs of words in capitals (rules.SHOUTING), keeping short acronyms if it can."""
    runs = 0

    def lower(match: regex.Match[str]) -> str:
        nonlocal runs
        runs += 1
        run = match.group()
        quieter = CAPS_WORD.sub(
            lambda word: word.group().lower() if _common(word.group()) else word.group(), run
        )
        if rules.SHOUTING.search(quieter):  # DO NOT DO IT: short words shout too
            quieter = run.lower()
        before = text[: match.start()].rstrip(" \t")
        if not before or before[-1] in TERMINAL + ":\n":
            quieter = quieter[:1].upper() + quieter[1:]
        return quieter

    return rules.SHOUTING.sub(lower, text), runs


def plain_styled(text: str) -> tuple[str, int]:
    """Turn Mathematical Alphanumeric ("bold", "italic") letters into plain ones."""
    count = 0

    def plain(match: regex.Match[str]) -> str:
        nonlocal count
        count += len(match.group())
        return unicodedata.normalize("NFKC", match.group())

    return rules.STYLED.sub(plain, text), count


def clean(text: str) -> str:
    """A brief's field as one plain line: no control characters, styling, markup or shouting."""
    text = rules.MANGLED.sub(" ", text)
    text, _ = plain_styled(text)
    text = MARKDOWN_BOLD.sub(r"\1", text)
    text = " ".join(text.split())
    text, _ = tone_down(text)
    return text
