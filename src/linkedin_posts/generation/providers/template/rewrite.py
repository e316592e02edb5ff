"""A draft rewritten by goal, with a note per change."""

import random

from linkedin_posts.analysis import fold, rules
from linkedin_posts.generation.providers.base import Completion, Goal, RewriteTask, Tone
from linkedin_posts.generation.providers.template import phrases
from linkedin_posts.generation.providers.template.draft import (
    Post,
    draft_subject,
    guess_language,
    guess_tone,
    is_tags,
    parse,
    split_paragraphs,
)
from linkedin_posts.generation.providers.template.formatting import fix_formatting
from linkedin_posts.generation.providers.template.hashtags import found_hashtags, hashtags_for
from linkedin_posts.generation.providers.template.phrases import LANGUAGES, VERSION
from linkedin_posts.generation.providers.template.shorten import cut, shorten
from linkedin_posts.generation.providers.template.text import MAX_GRAPHEMES, clip, graphemes, plural
from linkedin_posts.generation.providers.template.topic import (
    HOOK_LIMIT,
    Topic,
    crc,
    fill,
    hooks_for,
    usable,
)
from linkedin_posts.linkedin.little_text import HASHTAG_PATTERN


def _new_hook(post: Post, hook: str, why: str) -> list[str]:
    """Put `hook` first: in place of a first line that fits the fold, else above it."""
    old = post.head[0].strip()
    if graphemes(old) <= HOOK_LIMIT:
        post.head[0] = hook
        return [f"Replaced the first line with a new {why} hook ({len(hook)} characters)."]
    post.body.insert(0, "\n".join(post.head))
    post.head = [hook]
    return [
        f"Added a new {why} hook ({len(hook)} characters) above the first line, which at "
        f"{graphemes(old):,} characters was cut off on mobile."
    ]


def _pick_hook(text: str, language: str, tone: Tone, seed: int, old: str) -> str:
    subject = draft_subject(text, language)
    topic = (
        Topic(text=subject, kind="subject", hook=subject, inline=subject)
        if subject
        else Topic(text="", kind="none", hook="")
    )
    hooks = [hook for hook, _ in hooks_for(language, tone, topic) if hook != old.strip()]
    hooks = hooks or [h for h in phrases.PLAIN_HOOKS[language][tone] if h != old.strip()]
    return hooks[(seed + crc(text)) % len(hooks)]


def _stronger_hook(text: str, language: str, seed: int) -> tuple[str, list[str]]:
    tone = guess_tone(text)
    post = parse(text)
    hook = _pick_hook(text, language, tone, seed, post.head[0])
    notes = _new_hook(post, hook, tone.value)
    return post.render(), notes


def _tone(text: str, language: str, tone: Tone | None, seed: int) -> tuple[str, list[str]]:
    if tone is None:
        return text, ["No tone was given, so the draft is unchanged."]
    # Not for security: a seeded generator makes the choices repeatable.
    rng = random.Random(f"{VERSION}:{seed}:{text}")  # noqa: S311
    post = parse(text)
    notes = _new_hook(post, _pick_hook(text, language, tone, seed, post.head[0]), tone.value)
    subject = draft_subject(text, language)
    question = fill(rng.choice(usable(phrases.QUESTIONS[language][tone], subject)), subject)
    if post.cta and ("?" in post.cta or "\u00bf" in post.cta):
        post.cta = question
        notes.append(f"Replaced the closing question with one in a {tone.value} tone.")
    elif post.cta:
        post.body.append(fill(rng.choice(phrases.CLOSERS[language][tone]), subject))
        notes.append(f"Added a closing line in a {tone.value} tone before the call to action.")
    else:
        post.cta = question
        notes.append(f"Added a closing question in a {tone.value} tone.")
    return post.render(), notes


def _add_hashtags(text: str, language: str) -> tuple[str, list[str]]:
    found = found_hashtags(text)
    if len(found) >= rules.MAX_HASHTAGS:
        return text, [
            f"The draft already has {len(found)} hashtags, the most that reads well, so none "
            "was added."
        ]
    prose = HASHTAG_PATTERN.sub(" ", text)
    first = fold.hook_of(prose)
    tags = hashtags_for(
        language, [first, prose], found=found, words=HASHTAG_PATTERN.sub(" ", first)
    )
    paragraphs = split_paragraphs(text)
    while tags:
        if paragraphs and is_tags(paragraphs[-1]):
            result = "\n\n".join([*paragraphs[:-1], paragraphs[-1] + " " + " ".join(tags)])
        else:
            result = "\n\n".join([*paragraphs, " ".join(tags)])
        if graphemes(result) <= MAX_GRAPHEMES:
            return result, [
                f"Added {plural(len(tags), 'hashtag')} from the post's keywords: {', '.join(tags)}."
            ]
        tags.pop()
    return text, ["No hashtag could be added: no keyword makes one, or there is no room."]


def _finish(original: str, text: str, notes: list[str], language: str) -> Completion:
    """Non-empty, and within LinkedIn's limit whatever the goal did."""
    text = text.strip() or original.strip() or phrases.EMPTY_DRAFT[language]
    before = graphemes(text)
    if before > MAX_GRAPHEMES:
        post = parse(text)
        cut(post, MAX_GRAPHEMES)
        text = clip(post.render(), MAX_GRAPHEMES)
        notes.append(
            f"Cut it to LinkedIn's limit of {MAX_GRAPHEMES:,} characters (from {before:,})."
        )
    return Completion(text=text, notes=tuple(notes))


def rewrite_text(task: RewriteTask, seed: int) -> Completion:
    """The draft changed as the task's goal says, with a note per change."""
    text = task.text
    language = task.language if task.language in LANGUAGES else guess_language(text)
    if task.goal is Goal.SHORTEN:
        result, notes = shorten(text)
    elif task.goal is Goal.STRONGER_HOOK:
        result, notes = _stronger_hook(text, language, seed)
    elif task.goal is Goal.ADD_HASHTAGS:
        result, notes = _add_hashtags(text, language)
    elif task.goal is Goal.FIX_FORMATTING:
        result, notes = fix_formatting(text)
    else:
        result, notes = _tone(text, language, task.tone, seed)
    return _finish(text, result, notes, language)
