"""The offline provider: a template engine, not a language model.

It composes a post from phrase banks (template_phrases.py) and the brief's own words, and
rewrites a draft by rules. It needs no network, no model and no key, costs no tokens, and gives
the same text for the same brief and seed: the provider for tests, demos and air-gapped servers.
"""

import asyncio
import functools
import random
import unicodedata
import zlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import regex

from linkedin_posts.analysis import fold, rules
from linkedin_posts.analysis.engine import suggest_hashtags
from linkedin_posts.analysis.keywords import extract_keywords, stopwords_for
from linkedin_posts.analysis.text import GRAPHEME, WORD
from linkedin_posts.generation.providers import template_phrases as phrases
from linkedin_posts.generation.providers.base import (
    LENGTH_TARGETS,
    Brief,
    Chunk,
    Completion,
    Goal,
    Length,
    RewriteTask,
    Sampling,
    Tone,
)
from linkedin_posts.linkedin.little_text import HASHTAG_PATTERN, hashtag_spans
from linkedin_posts.posts.schemas import count_graphemes

# Part of the cache key (the provider's fingerprint): bump it whenever a phrase, a rule or the
# composition changes, so no cache serves a text the current version would not write.
VERSION = "1"
LANGUAGES = frozenset({"en", "es"})
MAX_GRAPHEMES = rules.MAX_GRAPHEMES
HOOK_LIMIT = fold.MOBILE_CHARACTERS
LINE_LIMIT = rules.LONG_LINE
# A topic within both limits is a subject that sentences can name; a longer one is a headline,
# which opens the post as written and is not repeated.
SUBJECT_LIMIT = 70
SUBJECT_WORDS = 6
# Fewer hooks than this for a topic: add hooks naming its best keyword, for variety.
MIN_HOOKS = 5
HASHTAGS = 3
# Key points all this short read as one list; longer ones get a paragraph each.
COMPACT_POINT = 120
# A clipped key point (or, when shortening, a clipped passage) keeps at least this much, even
# past the target.
MIN_CLIPPED_POINT = 60
ELLIPSIS = "\u2026"
BULLETS = ("\u2022 ", "\u2192 ", "- ", "{n}. ")
TERMINAL = ".!?" + ELLIPSIS

CLAUSE_BREAK = regex.compile(r"[,;:]\s+|\s+[-\u2013\u2014]\s+|\s+(?=(?:and|but|y|pero)\s)")
CLAUSE_END = regex.compile(r"[,;:](?=\s)")
SENTENCE_BREAK = regex.compile(r"(?<=[.!?\u2026])\s+")
SENTENCE_END = regex.compile(r"[.!?\u2026](?=\s)")
PARAGRAPH_BREAK = regex.compile(r"\n(?:[ \t]*\n)+")
BLANK_RUN = regex.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
TRAILING_SPACE = regex.compile(r"[ \t]+$", regex.MULTILINE)
MARKDOWN_BOLD = regex.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
CAPS_WORD = regex.compile(r"\b\p{Lu}{2,}\b")
LIST_ITEM = regex.compile(r"^\s*(?:[-*\u2022\u2192\u25aa\u2023\u00b7>]+|\d{1,2}[.)])\s+")
TAG_WORD = regex.compile(r"\p{L}[\p{L}\p{M}\p{N}]*")
SPANISH_CONTRACTION = regex.compile(r"\b([Aa]|[Dd]e) el\b")
SPANISH_MARKS = regex.compile(r"[\u00bf\u00a1\u00f1\u00d1]")


def _common(word: str) -> bool:
    """Whether a word in capitals is shouting rather than an acronym (AWS, SQL, UX): long, or
    a stop word of a language the provider writes."""
    lower = word.lower()
    return len(word) >= 4 or any(lower in stopwords_for(code) for code in LANGUAGES)


def _tone_down(text: str) -> tuple[str, int]:
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


def _plain_styled(text: str) -> tuple[str, int]:
    """Turn Mathematical Alphanumeric ("bold", "italic") letters into plain ones."""
    count = 0

    def plain(match: regex.Match[str]) -> str:
        nonlocal count
        count += len(match.group())
        return unicodedata.normalize("NFKC", match.group())

    return rules.STYLED.sub(plain, text), count


def _clean(text: str) -> str:
    """A brief's field as one plain line: no control characters, styling, markup or shouting."""
    text = rules.MANGLED.sub(" ", text)
    text, _ = _plain_styled(text)
    text = MARKDOWN_BOLD.sub(r"\1", text)
    text = " ".join(text.split())
    text, _ = _tone_down(text)
    return text


def _graphemes(text: str) -> int:
    if text.isascii():  # the one ASCII cluster of two characters is CR LF
        return len(text) - text.count("\r\n")
    return count_graphemes(text)


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters: whole sentences if that keeps half, else whole words and "…"."""
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
    if _graphemes(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while _graphemes(word) > limit:  # a word longer than a line: break it
            clusters = GRAPHEME.findall(word)
            if current:
                pieces.append(current)
                current = ""
            pieces.append("".join(clusters[:limit]))
            word = "".join(clusters[limit:])
        candidate = f"{current} {word}" if current else word
        if _graphemes(candidate) <= limit:
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
            if _graphemes(candidate) <= limit:
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


def _reflow(line: str, limit: int, first_limit: int | None = None) -> list[str]:
    """A long line as short paragraphs of whole sentences, each at most `limit` characters (a
    longer sentence alone, over several lines). With `first_limit`, the first line is kept
    within it, so it can be a hook."""
    paragraphs: list[str] = []
    current = ""
    sentences = [s for s in SENTENCE_BREAK.split(line.strip()) if s]
    if first_limit and sentences and _graphemes(sentences[0]) > first_limit:
        first, rest = _break_line(sentences.pop(0), first_limit)
        paragraphs.append("\n".join([first, *(_split_words(rest, limit) if rest else [])]))
        first_limit = None
    for sentence in sentences:
        if _graphemes(sentence) > limit:
            paragraphs += [current] if current else []
            paragraphs.append("\n".join(_split_words(sentence, limit)))
            current = ""
            continue
        room = first_limit if first_limit and not paragraphs else limit
        candidate = f"{current} {sentence}" if current else sentence
        if _graphemes(candidate) <= room:
            current = candidate
        else:
            paragraphs += [current] if current else []
            current = sentence
    if current:
        paragraphs.append(current)
    return paragraphs or [line]


def _wrap(paragraph: str, limit: int = LINE_LIMIT) -> str:
    """The paragraph with every line over `limit` characters broken into shorter ones."""
    lines: list[str] = []
    for line in paragraph.split("\n"):
        lines.extend([line] if _graphemes(line) <= limit else _pack(line, limit))
    return "\n".join(lines)


def _sentence(text: str) -> str:
    return text if text[-1:] in TERMINAL else text + "."


def _inline(text: str) -> str:
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


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fill(template: str, subject: str, audience: str = "") -> str:
    text = template.format(topic=_inline(subject), Topic=_title(subject), audience=audience)
    # Spanish contracts "a el" and "de el" where a topic starting with "el" follows.
    return SPANISH_CONTRACTION.sub(lambda m: m.group(1) + "l", text)


def _usable(templates: Sequence[str], subject: str) -> list[str]:
    """The templates that can be written: those naming the topic only when there is one."""
    return [t for t in templates if subject or "{topic}" not in t.lower()]


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _keywords(text: str, language: str) -> list[tuple[str, float]]:
    if not WORD.search(text):
        return []
    return extract_keywords(text, stopwords=stopwords_for(language), top=8)


def _as_prose(pieces: Sequence[str]) -> str:
    """Pieces as sentences, so keywords do not run from one into the next."""
    return "\n".join(_sentence(piece) for piece in pieces if piece)


def _is_question(text: str) -> bool:
    return text.endswith("?") or text.startswith("\u00bf")


@dataclass(frozen=True, slots=True)
class _Topic:
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


def _topic(raw: str, language: str) -> _Topic:
    text = _clean(raw)
    bare = text.strip(" .!:;," + ELLIPSIS)
    if not WORD.search(bare):
        return _Topic(text="", kind="none", hook="")
    short = next(
        (
            keyword
            for keyword, _ in _keywords(bare, language)
            if keyword.count(" ") <= 2 and _graphemes(keyword) <= SUBJECT_LIMIT - 10
        ),
        "",
    )
    if _is_question(bare):
        if _graphemes(bare) <= HOOK_LIMIT - 30:
            return _Topic(text=text, kind="question", hook=bare, short=short)
    elif (
        len(bare.split()) <= SUBJECT_WORDS
        and _graphemes(bare) <= SUBJECT_LIMIT
        and not _starts_headline(bare, language)
    ):
        return _Topic(text=text, kind="subject", hook=bare, inline=bare, short=short)
    if _graphemes(bare) <= HOOK_LIMIT - 30:
        return _Topic(text=text, kind="headline", hook=bare.rstrip("?"), short=short)
    clause, rest = _first_clause(bare, HOOK_LIMIT - 30)
    return _Topic(
        text=text, kind="headline", hook=clause, rest=rest if clause else text, short=short
    )


def _hooks(language: str, tone: Tone, topic: _Topic) -> list[tuple[str, bool]]:
    """Every hook this tone has for the topic, each within the mobile fold, and whether it
    names the topic whole."""
    if topic.kind == "question":
        templates = list(phrases.QUESTION_HOOKS[language])
    elif topic.kind == "headline":
        starts = [t for t in phrases.HOOKS[language][tone] if t.startswith("{Topic}")]
        templates = starts + list(phrases.HEADLINE_HOOKS[language])
    else:
        templates = list(phrases.HOOKS[language][tone])
    hooks = [(_fill(t, topic.hook), True) for t in templates] if topic.hook else []
    hooks = [(hook, whole) for hook, whole in hooks if _graphemes(hook) <= HOOK_LIMIT]
    if len(hooks) < MIN_HOOKS and topic.short and topic.kind != "subject":
        hooks += [(_fill(t, topic.short), False) for t in phrases.HOOKS[language][tone]]
    return hooks or [(hook, False) for hook in phrases.PLAIN_HOOKS[language][tone]]


def _found_hashtags(text: str) -> list[str]:
    return [f"#{tag.tag}" for tag in hashtag_spans(text)]


def _hashtags(
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
        for keyword in _keywords(source, language):
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


def _render(parts: _Parts, layout: _Layout, tags: Sequence[str]) -> str:
    blocks = [parts.hook]
    if layout.intro:
        blocks.append(_wrap(parts.intro))
    if layout.points:
        items = [
            _wrap(parts.style.format(n=n) + point) for n, point in enumerate(layout.points, start=1)
        ]
        if parts.compact:
            blocks.append("\n".join([parts.lead, *items]))
        else:
            blocks += [parts.lead, *items]
    blocks += [_wrap(filler) for filler in layout.fillers]
    if layout.closer:
        blocks.append(_wrap(parts.closer))
    blocks.append(_wrap(parts.cta))
    if tags:
        blocks.append(" ".join(tags))
    return "\n\n".join(blocks)


def _fit(parts: _Parts, tags: Sequence[str], length: Length) -> tuple[str, _Layout]:
    """The post within the length's target: key points first, in order, as many as fit; then the
    opening and the takeaway; then general paragraphs until it is long enough."""
    low, high = LENGTH_TARGETS[length]

    def size(layout: _Layout) -> int:
        return _graphemes(_render(parts, layout, tags))

    layout = _Layout()
    for point in parts.points:
        trial = replace(layout, points=[*layout.points, point])
        if size(trial) <= high:
            layout = trial
    if parts.points and not layout.points:  # not even the first fits whole: clip it
        room = high - size(replace(layout, points=[""]))
        layout = replace(layout, points=[_clip(parts.points[0], max(room, MIN_CLIPPED_POINT))])
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
    return _render(parts, layout, tags), layout


def compose(brief: Brief, seed: int) -> str:
    """The post for a brief: the same brief and seed always give the same text."""
    language = brief.language if brief.language in LANGUAGES else "en"
    tone = brief.tone
    # Not for security: a seeded generator makes the choices repeatable.
    rng = random.Random(f"{VERSION}:{seed}:{brief.topic}")  # noqa: S311
    topic = _topic(brief.topic, language)
    subject = topic.inline
    points = [LIST_ITEM.sub("", point) for point in map(_clean, brief.key_points)]
    points = [point for point in points if point]
    audience = _clean(brief.audience or "")
    cta = _clean(brief.call_to_action or "")

    hooks = _hooks(language, tone, topic)
    # Consecutive seeds (the service's variants) always get different hooks.
    hook, named = hooks[(seed + _crc(topic.text)) % len(hooks)]

    opening = []
    if topic.rest:
        opening.append(_sentence(_title(topic.rest)))
    elif topic.text and not named:
        opening.append(_sentence(topic.text))  # the hook could not name it: say it here
    if audience:
        opening.append(rng.choice(phrases.AUDIENCE[language]).format(audience=_inline(audience)))
    opening.append(_fill(rng.choice(_usable(phrases.OPENERS[language][tone], subject)), subject))

    fillers = [_fill(f, subject) for f in _usable(phrases.FILLERS[language], subject)]
    start = rng.randrange(len(fillers))
    parts = _Parts(
        hook=hook,
        intro=" ".join(opening),
        lead=rng.choice(phrases.LEADS[language]),
        points=points,
        style=rng.choice(BULLETS),
        compact=all(_graphemes(point) <= COMPACT_POINT for point in points),
        fillers=fillers[start:] + fillers[:start],
        closer=_fill(rng.choice(phrases.CLOSERS[language][tone]), subject),
        cta=cta or _fill(rng.choice(_usable(phrases.QUESTIONS[language][tone], subject)), subject),
    )

    if not brief.hashtags:
        text, _ = _fit(parts, (), brief.length)
    else:
        # Tags of the brief's own words: the topic, then the key points, audience and call to
        # action; then again with only the key points that made it into the post.
        found = _found_hashtags(" ".join([topic.text, *points]))
        tags = _hashtags(
            language,
            [topic.text, _as_prose([*points, audience, cta])],
            found=found,
            words=topic.text,
        )
        text, layout = _fit(parts, tags, brief.length)
        body = _render(parts, layout, ())
        kept = _hashtags(
            language,
            [topic.text, _as_prose([*layout.points, audience, cta])],
            found=_found_hashtags(body),
            words=topic.text,
        )
        if kept != tags:
            text, _ = _fit(parts, kept, brief.length)
    return _clip(text.strip(), MAX_GRAPHEMES)


@dataclass(slots=True)
class _Post:
    """A draft taken apart: the first paragraph (the hook is its first line), the body, the
    closing call to action and the closing hashtags, each possibly absent."""

    head: list[str]
    body: list[str]
    cta: str | None
    tags: str | None

    def render(self) -> str:
        blocks = ["\n".join(self.head), *self.body, self.cta or "", self.tags or ""]
        return "\n\n".join(block for block in blocks if block.strip())


def _paragraphs(text: str) -> list[str]:
    return [p for p in PARAGRAPH_BREAK.split(text.strip()) if p.strip()]


def _is_tags(paragraph: str) -> bool:
    return bool(hashtag_spans(paragraph)) and not HASHTAG_PATTERN.sub("", paragraph).strip()


def _is_call_to_action(paragraph: str) -> bool:
    return (
        "?" in paragraph
        or "\u00bf" in paragraph
        or bool(rules.CALL_TO_ACTION.search(paragraph.lower()))
    )


def _parse(text: str) -> _Post:
    paragraphs = _paragraphs(text)
    tags = paragraphs.pop() if len(paragraphs) > 1 and _is_tags(paragraphs[-1]) else None
    cta = None
    if len(paragraphs) > 1 and _is_call_to_action(paragraphs[-1]):
        cta = paragraphs.pop()
    head = paragraphs[0].split("\n") if paragraphs else [""]
    return _Post(head=head, body=paragraphs[1:], cta=cta, tags=tags)


@functools.cache
def _only_stopwords(language: str, other: str) -> frozenset[str]:
    return stopwords_for(language) - stopwords_for(other)


def _guess_language(text: str) -> str:
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


def _guess_tone(text: str) -> Tone:
    """The tone whose cue words the draft uses most; professional when none stands out."""
    lower = text.lower()
    counts = {tone: len(_cues(tone).findall(lower)) for tone in phrases.TONE_CUES}
    counts[Tone.BOLD] += text.count("!") // 2
    best = max(counts, key=lambda tone: counts[tone])
    return best if counts[best] else Tone.PROFESSIONAL


def _draft_subject(text: str, language: str) -> str:
    """What the draft is about: its best keyword that its first line names, of one or two
    words (or three with a stop word in the middle: "perder la cabeza"); "" if none."""
    prose = HASHTAG_PATTERN.sub(" ", text)
    hook = fold.hook_of(prose).lower()
    stop = stopwords_for(language)
    for keyword, _ in _keywords(prose, language):
        words = keyword.lower().split()
        if (
            keyword.lower() in hook
            and _graphemes(keyword) <= SUBJECT_LIMIT - 10
            and (len(words) <= 2 or (len(words) == 3 and words[1] in stop))
        ):
            return keyword
    return ""


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def _units(paragraph: str) -> tuple[list[str], str]:
    """A paragraph's lines if it has several (a list), else its sentences; and their joiner."""
    if "\n" in paragraph:
        return paragraph.split("\n"), "\n"
    return [s for s in SENTENCE_BREAK.split(paragraph) if s], " "


@dataclass(slots=True)
class _Cuts:
    paragraphs: int = 0
    sentences: int = 0
    lines: int = 0
    clipped: int = 0

    def describe(self) -> str:
        done = [
            _plural(self.paragraphs, "paragraph") if self.paragraphs else "",
            _plural(self.sentences, "sentence") if self.sentences else "",
            _plural(self.lines, "line") if self.lines else "",
            f"the end of {_plural(self.clipped, 'long passage')}" if self.clipped else "",
        ]
        done = [piece for piece in done if piece]
        return done[0] if len(done) == 1 else ", ".join(done[:-1]) + " and " + done[-1]

    def __bool__(self) -> bool:
        return bool(self.paragraphs or self.sentences or self.lines or self.clipped)


def _cut(post: _Post, target: int) -> _Cuts:
    """Shorten the post in place towards `target` characters, keeping the hook's first sentence,
    the call to action and the hashtags: whole paragraphs first (never the first of the body),
    then sentences or list lines from the end of each paragraph, then the ends of long ones."""
    cuts = _Cuts()

    def size() -> int:
        return _graphemes(post.render())

    body: list[str | None] = list(post.body)

    def sync() -> None:
        post.body = [p for p in body if p is not None]

    order = list(range(len(body) - 2, 0, -1)) + ([len(body) - 1] if len(body) > 1 else [])
    for index in order:
        if size() <= target:
            break
        body[index] = None
        cuts.paragraphs += 1
        sync()

    # Where sentences may go: the body paragraphs from the last, then the first paragraph's
    # lines after the hook, then the hook line's own sentences after its first.
    def places() -> list[int]:
        return [*reversed(range(len(post.body))), REST, HOOK]

    for place in places():
        units, joiner = _units(_get(post, place))
        while size() > target and len(units) > 1:
            units.pop()
            if joiner == "\n":
                cuts.lines += 1
            else:
                cuts.sentences += 1
            _put(post, place, joiner.join(units))
    for place in places():
        excess = size() - target
        if excess <= 0:
            break
        text = _get(post, place)
        length = _graphemes(text)
        keep = max(length - excess, MIN_CLIPPED_POINT)
        if keep < length:
            _put(post, place, _clip(text, keep))
            cuts.clipped += 1
    return cuts


# Places in a post `_cut` may shorten, besides the body paragraphs (by index).
REST, HOOK = -1, -2


def _get(post: _Post, place: int) -> str:
    if place == HOOK:
        return post.head[0]
    if place == REST:
        return "\n".join(post.head[1:])
    return post.body[place]


def _put(post: _Post, place: int, text: str) -> None:
    if place == HOOK:
        post.head[0] = text
    elif place == REST:
        post.head[1:] = text.split("\n") if text else []
    else:
        post.body[place] = text


def _shorten(text: str) -> tuple[str, list[str]]:
    before = _graphemes(text)
    target = max(min(round(before * 0.6), 1300), min(300, round(before * 0.8)))
    post = _parse(text)
    cuts = _cut(post, target)
    if not cuts:
        return text, [
            "Nothing could be cut without losing the hook, the call to action or the "
            "hashtags, so the draft is unchanged."
        ]
    result = post.render()
    after = _graphemes(result)
    return result, [f"Cut {cuts.describe()} (from {before:,} to {after:,} characters)."]


def _new_hook(post: _Post, hook: str, why: str) -> list[str]:
    """Put `hook` first: in place of a first line that fits the fold, else above it."""
    old = post.head[0].strip()
    if _graphemes(old) <= HOOK_LIMIT:
        post.head[0] = hook
        return [f"Replaced the first line with a new {why} hook ({len(hook)} characters)."]
    post.body.insert(0, "\n".join(post.head))
    post.head = [hook]
    return [
        f"Added a new {why} hook ({len(hook)} characters) above the first line, which at "
        f"{_graphemes(old):,} characters was cut off on mobile."
    ]


def _pick_hook(text: str, language: str, tone: Tone, seed: int, old: str) -> str:
    subject = _draft_subject(text, language)
    topic = (
        _Topic(text=subject, kind="subject", hook=subject, inline=subject)
        if subject
        else _Topic(text="", kind="none", hook="")
    )
    hooks = [hook for hook, _ in _hooks(language, tone, topic) if hook != old.strip()]
    hooks = hooks or [h for h in phrases.PLAIN_HOOKS[language][tone] if h != old.strip()]
    return hooks[(seed + _crc(text)) % len(hooks)]


def _stronger_hook(text: str, language: str, seed: int) -> tuple[str, list[str]]:
    tone = _guess_tone(text)
    post = _parse(text)
    hook = _pick_hook(text, language, tone, seed, post.head[0])
    notes = _new_hook(post, hook, tone.value)
    return post.render(), notes


def _tone(text: str, language: str, tone: Tone | None, seed: int) -> tuple[str, list[str]]:
    if tone is None:
        return text, ["No tone was given, so the draft is unchanged."]
    # Not for security: a seeded generator makes the choices repeatable.
    rng = random.Random(f"{VERSION}:{seed}:{text}")  # noqa: S311
    post = _parse(text)
    notes = _new_hook(post, _pick_hook(text, language, tone, seed, post.head[0]), tone.value)
    subject = _draft_subject(text, language)
    question = _fill(rng.choice(_usable(phrases.QUESTIONS[language][tone], subject)), subject)
    if post.cta and ("?" in post.cta or "\u00bf" in post.cta):
        post.cta = question
        notes.append(f"Replaced the closing question with one in a {tone.value} tone.")
    elif post.cta:
        post.body.append(_fill(rng.choice(phrases.CLOSERS[language][tone]), subject))
        notes.append(f"Added a closing line in a {tone.value} tone before the call to action.")
    else:
        post.cta = question
        notes.append(f"Added a closing question in a {tone.value} tone.")
    return post.render(), notes


def _add_hashtags(text: str, language: str) -> tuple[str, list[str]]:
    found = _found_hashtags(text)
    if len(found) >= rules.MAX_HASHTAGS:
        return text, [
            f"The draft already has {len(found)} hashtags, the most that reads well, so none "
            "was added."
        ]
    prose = HASHTAG_PATTERN.sub(" ", text)
    first = fold.hook_of(prose)
    tags = _hashtags(language, [first, prose], found=found, words=HASHTAG_PATTERN.sub(" ", first))
    paragraphs = _paragraphs(text)
    while tags:
        if paragraphs and _is_tags(paragraphs[-1]):
            result = "\n\n".join([*paragraphs[:-1], paragraphs[-1] + " " + " ".join(tags)])
        else:
            result = "\n\n".join([*paragraphs, " ".join(tags)])
        if _graphemes(result) <= MAX_GRAPHEMES:
            return result, [
                f"Added {_plural(len(tags), 'hashtag')} from the post's keywords: "
                f"{', '.join(tags)}."
            ]
        tags.pop()
    return text, ["No hashtag could be added: no keyword makes one, or there is no room."]


def _split_wall(text: str) -> list[str]:
    """A text with no blank line as paragraphs: each line one, except a list (with the line
    before it, if that ends with a colon)."""
    groups: list[list[str]] = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        last = groups[-1][-1] if groups else ""
        if LIST_ITEM.match(line) and (LIST_ITEM.match(last) or last.rstrip().endswith(":")):
            groups[-1].append(line)
        else:
            groups.append([line])
    return ["\n".join(group) for group in groups]


def _fix_formatting(text: str) -> tuple[str, list[str]]:
    notes: list[str] = []
    fixed = text
    if "\r" in fixed:
        fixed = fixed.replace("\r\n", "\n").replace("\r", "\n")
        notes.append("Turned Windows and old Mac line endings into plain line breaks.")
    separators = fixed.count("\u2028") + fixed.count("\u2029")
    if separators:
        fixed = fixed.replace("\u2029", "\n\n").replace("\u2028", "\n")
        notes.append(f"Turned {_plural(separators, 'Unicode line separator')} into line breaks.")
    mangled = len(rules.MANGLED.findall(fixed))
    if mangled:
        fixed = rules.MANGLED.sub("", fixed)
        notes.append(
            f"Removed {_plural(mangled, 'character')} that LinkedIn does not keep intact "
            "(control characters, private-use characters or U+FFFD)."
        )
    fixed, styled = _plain_styled(fixed)
    if styled:
        notes.append(f"Turned {_plural(styled, 'bold or italic Unicode letter')} into plain ones.")
    bold = len(MARKDOWN_BOLD.findall(fixed))
    if bold:
        fixed = MARKDOWN_BOLD.sub(r"\1", fixed)
        notes.append(
            f"Removed the Markdown asterisks around {_plural(bold, 'phrase')}: LinkedIn shows "
            "them as they are."
        )
    fixed, shouting = _tone_down(fixed)
    if shouting:
        notes.append(f"Toned down {_plural(shouting, 'run')} of words in capitals.")
    spaces = len(TRAILING_SPACE.findall(fixed))
    if spaces:
        fixed = TRAILING_SPACE.sub("", fixed)
        notes.append(f"Removed trailing spaces from {_plural(spaces, 'line')}.")
    blanks = len(BLANK_RUN.findall(fixed))
    if blanks:
        fixed = BLANK_RUN.sub("\n\n", fixed)
        notes.append(
            "Collapsed a run of blank lines into one blank line."
            if blanks == 1
            else f"Collapsed {blanks:,} runs of blank lines into one blank line each."
        )

    stripped = fixed.strip()
    long_lines = sum(1 for line in stripped.split("\n") if _graphemes(line) > LINE_LIMIT)
    reflowed: list[str] = []
    walls: list[int] = []
    paragraphs = _paragraphs(stripped)
    for paragraph in paragraphs:
        prose_lines = [line for line in paragraph.split("\n") if not LIST_ITEM.match(line)]
        if _graphemes(paragraph) <= rules.WALL_OF_TEXT or (
            len(paragraphs) > 1 and all(_graphemes(line) <= LINE_LIMIT for line in prose_lines)
        ):
            reflowed.append(_wrap(paragraph))
            continue
        # A wall: each line a paragraph (a list stays together), and a long line's sentences
        # in short paragraphs, the very first alone if it can be a hook within the fold.
        walls.append(_graphemes(paragraph))
        for group in _split_wall(paragraph):
            if "\n" in group or _graphemes(group) <= LINE_LIMIT:
                reflowed.append(_wrap(group))
            else:
                first = HOOK_LIMIT if not reflowed else None
                reflowed += _reflow(group, LINE_LIMIT, first)
    if len(walls) == 1:
        notes.append(
            f"Split a {walls[0]:,}-character block into short paragraphs "
            f"({_plural(len(reflowed), 'paragraph')} in all now, from {len(paragraphs):,})."
        )
    elif walls:
        notes.append(
            f"Split {len(walls):,} blocks of over {rules.WALL_OF_TEXT} characters into short "
            f"paragraphs ({_plural(len(reflowed), 'paragraph')} in all now, from "
            f"{len(paragraphs):,})."
        )
    if long_lines:
        notes.append(
            f"Broke {_plural(long_lines, 'line')} over {LINE_LIMIT} characters into shorter ones."
        )
    fixed = "\n\n".join(reflowed)
    if fixed != text and not notes:
        notes.append("Removed blank space at the start and the end.")
    if not notes:
        return text, ["The formatting was already clean, so the draft is unchanged."]
    return fixed, notes


def _finish(original: str, text: str, notes: list[str], language: str) -> Completion:
    """Non-empty, and within LinkedIn's limit whatever the goal did."""
    text = text.strip() or original.strip() or phrases.EMPTY_DRAFT[language]
    before = _graphemes(text)
    if before > MAX_GRAPHEMES:
        post = _parse(text)
        _cut(post, MAX_GRAPHEMES)
        text = _clip(post.render(), MAX_GRAPHEMES)
        notes.append(
            f"Cut it to LinkedIn's limit of {MAX_GRAPHEMES:,} characters (from {before:,})."
        )
    return Completion(text=text, notes=tuple(notes))


def rewrite_text(task: RewriteTask, seed: int) -> Completion:
    """The draft changed as the task's goal says, with a note per change."""
    text = task.text
    language = task.language if task.language in LANGUAGES else _guess_language(text)
    if task.goal is Goal.SHORTEN:
        result, notes = _shorten(text)
    elif task.goal is Goal.STRONGER_HOOK:
        result, notes = _stronger_hook(text, language, seed)
    elif task.goal is Goal.ADD_HASHTAGS:
        result, notes = _add_hashtags(text, language)
    elif task.goal is Goal.FIX_FORMATTING:
        result, notes = _fix_formatting(text)
    else:
        result, notes = _tone(text, language, task.tone, seed)
    return _finish(text, result, notes, language)


class TemplateProvider:
    """Posts from phrase banks and the brief's words; rewrites by rules. No model, no network."""

    name = "template"
    model = f"template-v{VERSION}"
    fingerprint = f"template:{VERSION}"
    languages: frozenset[str] | None = LANGUAGES

    # `sampling.temperature` and `sampling.max_tokens` mean nothing to a template: only the seed
    # is used, and the length comes from the brief.
    async def generate(self, brief: Brief, sampling: Sampling) -> Completion:
        # Keyword extraction is CPU work: off the event loop.
        text = await asyncio.to_thread(compose, brief, sampling.seed)
        return Completion(text=text)

    async def rewrite(self, task: RewriteTask, sampling: Sampling) -> Completion:
        return await asyncio.to_thread(rewrite_text, task, sampling.seed)

    async def stream(self, brief: Brief, sampling: Sampling) -> AsyncGenerator[Chunk, None]:
        """The whole text as one chunk: a template has no tokens to stream one by one."""
        completion = await self.generate(brief, sampling)
        yield Chunk(text=completion.text, usage=completion.usage)

    async def aclose(self) -> None:
        return None


# Briefs that show what the provider writes; docs/generation.md tabulates their scores and
# tests/generation/test_template.py holds every one of them to the analyzer.
SAMPLE_BRIEFS: tuple[Brief, ...] = (
    Brief(
        topic="Running code reviews that people look forward to",
        key_points=(
            "Keep pull requests under 400 lines so a reviewer can hold the whole change in mind.",
            "Review within one working day; a stale review costs more than a slow one.",
            "Comment on the code, never on the person, and say why a change matters.",
        ),
        audience="engineering managers",
        tone=Tone.PROFESSIONAL,
        length=Length.MEDIUM,
    ),
    Brief(topic="Working from home with small kids", tone=Tone.FRIENDLY, length=Length.SHORT),
    Brief(
        topic="What my first year as a product designer taught me",
        key_points=(
            "Ask for feedback early, when changing course is still cheap.",
            "Sit in on customer calls; one hour with a user beats a week of guessing.",
            "Keep a record of your decisions and the reasons behind them.",
            "Find one mentor outside your team who will tell you the truth.",
        ),
        audience="early-career designers",
        tone=Tone.INSPIRATIONAL,
        length=Length.LONG,
        call_to_action="Share the best advice you got in your first year.",
    ),
    Brief(
        topic="How to write a useful incident postmortem",
        key_points=(
            "Write the timeline first, while memories are fresh.",
            "Look for causes in the system, not for someone to blame.",
            "List the signals that could have warned you earlier.",
            "Turn every finding into an action with an owner and a date.",
            "Share the document widely and invite questions.",
        ),
        tone=Tone.EDUCATIONAL,
        length=Length.MEDIUM,
        call_to_action="Comment with the one section you would never skip.",
    ),
    Brief(
        topic="Meetings without an agenda",
        key_points=(
            "No agenda, no meeting: send it a day ahead or cancel.",
            "End every meeting with a decision, an owner and a date.",
        ),
        tone=Tone.BOLD,
        length=Length.SHORT,
        hashtags=False,
    ),
    Brief(
        topic="Why finance teams should own the cloud bill",
        audience="CFOs and finance leaders",
        tone=Tone.PROFESSIONAL,
        length=Length.LONG,
    ),
    Brief(
        topic=(
            "We moved our payments service from twelve microservices back to one modular "
            "monolith after three years, and our deploys, on-call nights and onboarding all "
            "got better"
        ),
        key_points=(
            "Most of our services changed together anyway, so every feature was a coordinated "
            "release across several repositories, with several pipelines and several reviews. "
            "One codebase turned that into one pull request and one deploy.",
            "On-call pages fell by half once network calls between our own services became "
            "function calls that cannot time out.",
            "New engineers ship in their first week now, because they clone one repository "
            "and run one command to get a working system on their laptop.",
        ),
        tone=Tone.FRIENDLY,
        length=Length.MEDIUM,
    ),
    Brief(
        topic="Cómo priorizar el backlog sin perder la cabeza",
        key_points=(
            "Ordena por impacto en el cliente, no por quién grita más fuerte.",
            "Revisa las prioridades cada dos semanas con datos recientes.",
            "Di que no a tiempo: cada sí tiene un coste oculto.",
        ),
        audience="responsables de producto",
        tone=Tone.PROFESSIONAL,
        length=Length.MEDIUM,
        language="es",
    ),
    Brief(
        topic="Aprender a programar después de los cuarenta",
        tone=Tone.FRIENDLY,
        length=Length.SHORT,
        language="es",
    ),
    Brief(
        topic="Volver a empezar después de un despido",
        tone=Tone.INSPIRATIONAL,
        length=Length.MEDIUM,
        language="es",
        call_to_action="Cuéntame en los comentarios qué te ayudó a ti.",
    ),
    Brief(
        topic="Cómo preparar una entrevista técnica",
        key_points=(
            "Repasa las estructuras de datos básicas: listas, diccionarios, árboles y grafos.",
            "Practica en voz alta; explicar lo que piensas cuenta tanto como la solución.",
            "Lee la descripción del puesto y prepara un ejemplo real para cada requisito.",
            "Haz simulacros con alguien que te dé una opinión sincera.",
            "Prepara tus propias preguntas sobre el equipo y la forma de trabajar.",
            "Duerme bien la noche anterior; el cansancio se nota más que los nervios.",
        ),
        audience="estudiantes de programación",
        tone=Tone.EDUCATIONAL,
        length=Length.LONG,
        language="es",
    ),
    Brief(
        topic="El trabajo en remoto no es el problema",
        key_points=(
            "El problema son las reuniones que podrían haber sido un correo.",
            "Sin objetivos claros, ninguna oficina salva a un equipo.",
            "La confianza se construye con resultados, no con horas conectado.",
        ),
        tone=Tone.BOLD,
        length=Length.MEDIUM,
        language="es",
        hashtags=False,
    ),
    Brief(
        topic="Ten habits of clear business writing",
        key_points=(
            "Lead with the answer.",
            "One idea per paragraph.",
            "Prefer short words.",
            "Cut adverbs.",
            "Use active verbs.",
            "Name the owner of every action.",
            "Put numbers in digits.",
            "Read it aloud before sending.",
            "Delete the first sentence.",
            "Ask what the reader must do next.",
        ),
        tone=Tone.EDUCATIONAL,
        length=Length.SHORT,
    ),
)
