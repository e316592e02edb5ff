"""A new post from a brief: hook, opening, key points, closer, call to action and hashtags."""

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from linkedin_posts.generation.providers.base import LENGTH_TARGETS, Brief, Length
from linkedin_posts.generation.providers.template import phrases
from linkedin_posts.generation.providers.template.cleanup import clean
from linkedin_posts.generation.providers.template.hashtags import found_hashtags, hashtags_for
from linkedin_posts.generation.providers.template.phrases import LANGUAGES, VERSION
from linkedin_posts.generation.providers.template.text import (
    LIST_ITEM,
    MAX_GRAPHEMES,
    MIN_CLIPPED_POINT,
    TERMINAL,
    clip,
    graphemes,
    wrap,
)
from linkedin_posts.generation.providers.template.topic import (
    crc,
    fill,
    hooks_for,
    inline,
    title,
    topic_of,
    usable,
)

# Key points all this short read as one list; longer ones get a paragraph each.
COMPACT_POINT = 120
BULLETS = ("\u2022 ", "\u2192 ", "- ", "{n}. ")


def _sentence(text: str) -> str:
    return text if text[-1:] in TERMINAL else text + "."


def _as_prose(pieces: Sequence[str]) -> str:
    """Pieces as sentences, so keywords do not run from one into the next."""
    return "\n".join(_sentence(piece) for piece in pieces if piece)


@dataclass(slots=True)
class _Parts:
    """Everything a post may hold; `_Layout` says which of it goes in."""

    hook: str
    intro: str
    lead: str
    points: list[str]
    style: str
    compact: bool
    fillers: list[str]
    closer: str
    cta: str


@dataclass(slots=True)
class _Layout:
    points: list[str] = field(default_factory=list)
    intro: bool = False
    closer: bool = False
    fillers: list[str] = field(default_factory=list)


def _blocks(
    parts: _Parts, layout: _Layout, tags: Sequence[str], wrapped: Callable[[str], str] = wrap
) -> list[str]:
    """The post's paragraphs, not yet joined; `_fit` passes a cached `wrap` as `wrapped`."""
    blocks = [parts.hook]
    if layout.intro:
        blocks.append(wrapped(parts.intro))
    if layout.points:
        items = [
            wrapped(parts.style.format(n=n) + point)
            for n, point in enumerate(layout.points, start=1)
        ]
        if parts.compact:
            blocks.append("\n".join([parts.lead, *items]))
        else:
            blocks += [parts.lead, *items]
    blocks += [wrapped(filler) for filler in layout.fillers]
    if layout.closer:
        blocks.append(wrapped(parts.closer))
    blocks.append(wrapped(parts.cta))
    if tags:
        blocks.append(" ".join(tags))
    return blocks


def _render(parts: _Parts, layout: _Layout, tags: Sequence[str]) -> str:
    return "\n\n".join(_blocks(parts, layout, tags))


def _fit(parts: _Parts, tags: Sequence[str], length: Length) -> tuple[str, _Layout]:
    """The post within the length's target: key points first, in order, as many as fit; then the
    opening and the takeaway; then general paragraphs until it is long enough."""
    low, high = LENGTH_TARGETS[length]
    # Every trial holds the same pieces: each is wrapped and counted once.
    wrapped = functools.cache(wrap)
    counted = functools.cache(graphemes)

    def size(layout: _Layout) -> int:
        # A line break is a grapheme boundary on both sides unless it follows a CR (UAX #29),
        # and clean() leaves no CR: the post's size is its paragraphs' and the breaks'.
        blocks = _blocks(parts, layout, tags, wrapped)
        return sum(map(counted, blocks)) + 2 * (len(blocks) - 1)

    layout = _Layout()
    for point in parts.points:
        trial = replace(layout, points=[*layout.points, point])
        if size(trial) <= high:
            layout = trial
    if parts.points and not layout.points:  # not even the first fits whole: clip it
        room = high - size(replace(layout, points=[""]))
        layout = replace(layout, points=[clip(parts.points[0], max(room, MIN_CLIPPED_POINT))])
    if size(trial := replace(layout, intro=True)) <= high:
        layout = trial
    if size(trial := replace(layout, closer=True)) <= high:
        layout = trial
    for filler in parts.fillers:
        if size(layout) >= low:
            break
        trial = replace(layout, fillers=[*layout.fillers, filler])
        if size(trial) <= high:
            layout = trial
    return "\n\n".join(_blocks(parts, layout, tags, wrapped)), layout


def compose(brief: Brief, seed: int) -> str:
    """The post for a brief: the same brief and seed always give the same text."""
    language = brief.language if brief.language in LANGUAGES else "en"
    tone = brief.tone
    # Not for security: a seeded generator makes the choices repeatable.
    rng = random.Random(f"{VERSION}:{seed}:{brief.topic}")  # noqa: S311
    topic = topic_of(brief.topic, language)
    subject = topic.inline
    points = [LIST_ITEM.sub("", point) for point in map(clean, brief.key_points)]
    points = [point for point in points if point]
    audience = clean(brief.audience or "")
    cta = clean(brief.call_to_action or "")

    hooks = hooks_for(language, tone, topic)
    # Consecutive seeds (the service's variants) always get different hooks.
    hook, named = hooks[(seed + crc(topic.text)) % len(hooks)]

    opening = []
    if topic.rest:
        opening.append(_sentence(title(topic.rest)))
    elif topic.text and not named:
        opening.append(_sentence(topic.text))  # the hook could not name it: say it here
    if audience:
        opening.append(rng.choice(phrases.AUDIENCE[language]).format(audience=inline(audience)))
    opening.append(fill(rng.choice(usable(phrases.OPENERS[language][tone], subject)), subject))

    fillers = [fill(f, subject) for f in usable(phrases.FILLERS[language], subject)]
    start = rng.randrange(len(fillers))
    parts = _Parts(
        hook=hook,
        intro=" ".join(opening),
        lead=rng.choice(phrases.LEADS[language]),
        points=points,
        style=rng.choice(BULLETS),
        compact=all(graphemes(point) <= COMPACT_POINT for point in points),
        fillers=fillers[start:] + fillers[:start],
        closer=fill(rng.choice(phrases.CLOSERS[language][tone]), subject),
        cta=cta or fill(rng.choice(usable(phrases.QUESTIONS[language][tone], subject)), subject),
    )

    if not brief.hashtags:
        text, _ = _fit(parts, (), brief.length)
    else:
        # Tags of the brief's own words: the topic, then the key points, audience and call to
        # action; then again with only the key points that made it into the post.
        found = found_hashtags(" ".join([topic.text, *points]))
        tags = hashtags_for(
            language,
            [topic.text, _as_prose([*points, audience, cta])],
            found=found,
            words=topic.text,
        )
        text, layout = _fit(parts, tags, brief.length)
        body = _render(parts, layout, ())
        kept = hashtags_for(
            language,
            [topic.text, _as_prose([*layout.points, audience, cta])],
            found=found_hashtags(body),
            words=topic.text,
        )
        if kept != tags:
            text, _ = _fit(parts, kept, brief.length)
    return clip(text.strip(), MAX_GRAPHEMES)
