"""Hashtags made of a brief's or a draft's own words."""

from collections.abc import Sequence

import regex

from linkedin_posts.analysis import rules
from linkedin_posts.analysis.engine import suggest_hashtags
from linkedin_posts.analysis.keywords import stopwords_for
from linkedin_posts.generation.providers.template import phrases
from linkedin_posts.generation.providers.template.text import keywords
from linkedin_posts.linkedin.little_text import hashtag_spans

HASHTAGS = 3
TAG_WORD = regex.compile(r"\p{L}[\p{L}\p{M}\p{N}]*")


def found_hashtags(text: str) -> list[str]:
    return [f"#{tag.tag}" for tag in hashtag_spans(text)]


def hashtags_for(
    language: str, sources: Sequence[str], *, found: list[str], words: str = ""
) -> list[str]:
    """Up to three hashtags, never past five in all: analysis.engine.suggest_hashtags of each
    source's keywords in turn, then the words of `words` (the topic).

    A tag that is part of another is not added twice: #RemoteWork replaces #Remote, and #Work
    is then skipped. Only the brief's (or the draft's) own words make tags, never the phrase
    banks', so a topic of one short word may get fewer than three.
    """
    room = min(HASHTAGS, rules.MAX_HASHTAGS - len(found))
    tags: list[str] = []
    taken = [tag.lower()[1:] for tag in found]

    def add(tag: str) -> None:
        lower = tag.lower()[1:]
        if any(lower in other or other in lower for other in taken):
            return
        if any(lower in t.lower() for t in tags):
            return
        inside = [i for i, t in enumerate(tags) if t.lower()[1:] in lower]
        if len(inside) == 1:
            tags[inside[0]] = tag
        elif not inside and len(tags) < room:
            tags.append(tag)

    for source in sources:
        for keyword in keywords(source, language):
            for tag in suggest_hashtags([keyword], found):
                add(tag)
    stop = stopwords_for(language)
    common = phrases.FUNCTION_WORDS.get(language, frozenset())
    candidates = TAG_WORD.findall(words)
    for strict in (True, False):
        for word in candidates:
            lower = word.lower()
            acronym = len(word) >= 2 and word.isupper()
            if len(word) > 50 or lower in rules.BAIT_HASHTAGS:
                continue
            if len(word) < (3 if strict else 4) and not acronym:
                continue
            if lower in (stop if strict else common) and not acronym:
                continue
            add("#" + word[:1].upper() + word[1:])
    return tags[:room]
