"""How a post names its topic, fills phrases with it, and opens with a hook."""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import regex

from linkedin_posts.analysis import fold
from linkedin_posts.analysis.text import GRAPHEME, WORD
from linkedin_posts.generation.providers.base import Tone
from linkedin_posts.generation.providers.template import phrases
from linkedin_posts.generation.providers.template.cleanup import clean
from linkedin_posts.generation.providers.template.text import ELLIPSIS, graphemes, keywords

HOOK_LIMIT = fold.MOBILE_CHARACTERS
# A topic within both limits is a subject that sentences can name; a longer one is a headline,
# which opens the post as written and is not repeated.
SUBJECT_LIMIT = 70
SUBJECT_WORDS = 6
# Fewer hooks than this for a topic: add hooks naming its best keyword, for variety.
MIN_HOOKS = 5
CLAUSE_BREAK = regex.compile(r"[,;:]\s+|\s+[-\u2013\u2014]\s+|\s+(?=(?:and|but|y|pero)\s)")
SPANISH_CONTRACTION = regex.compile(r"\b([Aa]|[Dd]e) el\b")


def inline(text: str) -> str:
    """The subject as it reads inside a sentence: "Remote onboarding" -> "remote onboarding".

    Only a sentence-case phrase is lowered; a single word, an acronym or a Title Case phrase
    may be a name, and keeps its capitals.
    """
    words = text.split(" ", 2)
    first = words[0]
    if (
        len(words) > 1
        and len(first) > 1
        and first.isalpha()
        and first[0].isupper()
        and first[1:].islower()
        and words[1][:1].islower()
    ):
        return first[0].lower() + text[1:]
    return text


def title(text: str) -> str:
    return text[:1].upper() + text[1:]


def fill(template: str, subject: str) -> str:
    text = template.format(topic=inline(subject), Topic=title(subject))
    # Spanish contracts "a el" and "de el" where a topic starting with "el" follows.
    return SPANISH_CONTRACTION.sub(lambda m: m.group(1) + "l", text)


def usable(templates: Sequence[str], subject: str) -> list[str]:
    """The templates that can be written: those naming the topic only when there is one."""
    return [t for t in templates if subject or "{topic}" not in t.lower()]


def crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _is_question(text: str) -> bool:
    return text.endswith("?") or text.startswith("\u00bf")


@dataclass(frozen=True, slots=True)
class Topic:
    """How a post names its topic.

    A subject ("Remote onboarding") goes inside sentences; a headline ("Why finance should own
    the cloud bill") or a question opens the post as written and is not repeated after.
    """

    text: str
    kind: Literal["subject", "headline", "question", "none"]
    # What hooks write: the topic, or the first clause of one too long for the fold.
    hook: str
    # The rest of a topic the hook leaves out, said in the opening paragraph.
    rest: str = ""
    # What other sentences call it: "" when they should not name it.
    inline: str = ""
    # A short name for the topic, for a hook when nothing else fits: its best keyword.
    short: str = ""


def _starts_headline(text: str, language: str) -> bool:
    lower = text.lower().lstrip("\u00bf\u00a1")
    return any(
        lower == start or lower.startswith(start + " ")
        for start in phrases.HEADLINE_STARTS[language]
    )


def _first_clause(text: str, limit: int) -> tuple[str, str]:
    """The text split after its last clause boundary within `limit` characters, if the first
    part keeps at least half of it; else ("", text)."""
    head = "".join(GRAPHEME.findall(text)[:limit])
    cut = max((m.start() for m in CLAUSE_BREAK.finditer(head)), default=-1)
    if cut < len(head) // 2:
        return "", text
    rest = CLAUSE_BREAK.sub("", text[cut:], count=1).strip()
    return text[:cut].rstrip(), rest


def topic_of(raw: str, language: str) -> Topic:
    text = clean(raw)
    bare = text.strip(" .!:;," + ELLIPSIS)
    if not WORD.search(bare):
        return Topic(text="", kind="none", hook="")
    short = next(
        (
            keyword
            for keyword, _ in keywords(bare, language)
            if keyword.count(" ") <= 2 and graphemes(keyword) <= SUBJECT_LIMIT - 10
        ),
        "",
    )
    if _is_question(bare):
        if graphemes(bare) <= HOOK_LIMIT - 30:
            return Topic(text=text, kind="question", hook=bare, short=short)
    elif (
        len(bare.split()) <= SUBJECT_WORDS
        and graphemes(bare) <= SUBJECT_LIMIT
        and not _starts_headline(bare, language)
    ):
        return Topic(text=text, kind="subject", hook=bare, inline=bare, short=short)
    if graphemes(bare) <= HOOK_LIMIT - 30:
        return Topic(text=text, kind="headline", hook=bare.rstrip("?"), short=short)
    clause, rest = _first_clause(bare, HOOK_LIMIT - 30)
    return Topic(
        text=text, kind="headline", hook=clause, rest=rest if clause else text, short=short
    )


def hooks_for(language: str, tone: Tone, topic: Topic) -> list[tuple[str, bool]]:
    """Every hook this tone has for the topic, each within the mobile fold, and whether it
    names the topic whole."""
    if topic.kind == "question":
        templates = list(phrases.QUESTION_HOOKS[language])
    elif topic.kind == "headline":
        starts = [t for t in phrases.HOOKS[language][tone] if t.startswith("{Topic}")]
        templates = starts + list(phrases.HEADLINE_HOOKS[language])
    else:
        templates = list(phrases.HOOKS[language][tone])
    hooks = [(fill(t, topic.hook), True) for t in templates] if topic.hook else []
    hooks = [(hook, whole) for hook, whole in hooks if graphemes(hook) <= HOOK_LIMIT]
    if len(hooks) < MIN_HOOKS and topic.short and topic.kind != "subject":
        hooks += [(fill(t, topic.short), False) for t in phrases.HOOKS[language][tone]]
    return hooks or [(hook, False) for hook in phrases.PLAIN_HOOKS[language][tone]]
