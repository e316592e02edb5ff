"""A draft read for rewriting: its parts, its language, its tone and its subject."""

import functools
from dataclasses import dataclass

import regex

from linkedin_posts.analysis import fold, rules
from linkedin_posts.analysis.keywords import stopwords_for
from linkedin_posts.analysis.text import WORD
from linkedin_posts.generation.providers.base import Tone
from linkedin_posts.generation.providers.template import phrases
from linkedin_posts.generation.providers.template.text import graphemes, keywords
from linkedin_posts.generation.providers.template.topic import SUBJECT_LIMIT
from linkedin_posts.linkedin.little_text import HASHTAG_PATTERN, hashtag_spans

PARAGRAPH_BREAK = regex.compile(r"\n(?:[ \t]*\n)+")
SPANISH_MARKS = regex.compile(r"[\u00bf\u00a1\u00f1\u00d1]")


@dataclass(slots=True)
class Post:
    """A draft taken apart: the first paragraph (the hook is its first line), the body, the
    closing call to action and the closing hashtags, each possibly absent."""

    head: list[str]
    body: list[str]
    cta: str | None
    tags: str | None

    def render(self) -> str:
        blocks = ["\n".join(self.head), *self.body, self.cta or "", self.tags or ""]
        return "\n\n".join(block for block in blocks if block.strip())


def split_paragraphs(text: str) -> list[str]:
    return [p for p in PARAGRAPH_BREAK.split(text.strip()) if p.strip()]


def is_tags(paragraph: str) -> bool:
    return bool(hashtag_spans(paragraph)) and not HASHTAG_PATTERN.sub("", paragraph).strip()


def _is_call_to_action(paragraph: str) -> bool:
    return (
        "?" in paragraph
        or "\u00bf" in paragraph
        or bool(rules.CALL_TO_ACTION.search(paragraph.lower()))
    )


def parse(text: str) -> Post:
    paragraphs = split_paragraphs(text)
    tags = paragraphs.pop() if len(paragraphs) > 1 and is_tags(paragraphs[-1]) else None
    cta = None
    if len(paragraphs) > 1 and _is_call_to_action(paragraphs[-1]):
        cta = paragraphs.pop()
    head = paragraphs[0].split("\n") if paragraphs else [""]
    return Post(head=head, body=paragraphs[1:], cta=cta, tags=tags)


@functools.cache
def _only_stopwords(language: str, other: str) -> frozenset[str]:
    return stopwords_for(language) - stopwords_for(other)


def guess_language(text: str) -> str:
    """English or Spanish, by the stop words only one of them has; English when unsure."""
    words = [word.lower() for word in WORD.findall(text[:2000])]
    spanish = _only_stopwords("es", "en")
    english = _only_stopwords("en", "es")
    es = sum(word in spanish for word in words) + 3 * len(SPANISH_MARKS.findall(text[:2000]))
    en = sum(word in english for word in words)
    return "es" if es > en else "en"


@functools.cache
def _cues(tone: Tone) -> regex.Pattern[str]:
    words = "|".join(regex.escape(cue) for cue in phrases.TONE_CUES[tone])
    return regex.compile(rf"\b(?:{words})\b")


def guess_tone(text: str) -> Tone:
    """The tone whose cue words the draft uses most; professional when none stands out."""
    lower = text.lower()
    counts = {tone: len(_cues(tone).findall(lower)) for tone in phrases.TONE_CUES}
    counts[Tone.BOLD] += text.count("!") // 2
    best = max(counts, key=lambda tone: counts[tone])
    return best if counts[best] else Tone.PROFESSIONAL


def draft_subject(text: str, language: str) -> str:
    """What the draft is about: its best keyword that its first line names, of one or two
    words (or three with a stop word in the middle: "perder la cabeza"); "" if none."""
    prose = HASHTAG_PATTERN.sub(" ", text)
    hook = fold.hook_of(prose).lower()
    stop = stopwords_for(language)
    for keyword, _ in keywords(prose, language):
        words = keyword.lower().split()
        if (
            keyword.lower() in hook
            and graphemes(keyword) <= SUBJECT_LIMIT - 10
            and (len(words) <= 2 or (len(words) == 3 and words[1] in stop))
        ):
            return keyword
    return ""
