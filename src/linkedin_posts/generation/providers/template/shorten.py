"""Cut a draft towards a length, keeping its hook, call to action and hashtags."""

from dataclasses import dataclass

from linkedin_posts.generation.providers.template.draft import Post, parse
from linkedin_posts.generation.providers.template.text import (
    MIN_CLIPPED_POINT,
    SENTENCE_BREAK,
    clip,
    graphemes,
    plural,
)


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
            plural(self.paragraphs, "paragraph") if self.paragraphs else "",
            plural(self.sentences, "sentence") if self.sentences else "",
            plural(self.lines, "line") if self.lines else "",
            f"the end of {plural(self.clipped, 'long passage')}" if self.clipped else "",
        ]
        done = [piece for piece in done if piece]
        return done[0] if len(done) == 1 else ", ".join(done[:-1]) + " and " + done[-1]

    def __bool__(self) -> bool:
        return bool(self.paragraphs or self.sentences or self.lines or self.clipped)


def cut(post: Post, target: int) -> _Cuts:
    """Shorten the post in place towards `target` characters, keeping the hook's first sentence,
    the call to action and the hashtags: whole paragraphs first (never the first of the body),
    then sentences or list lines from the end of each paragraph, then the ends of long ones."""
    cuts = _Cuts()

    def size() -> int:
        return graphemes(post.render())

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
        length = graphemes(text)
        keep = max(length - excess, MIN_CLIPPED_POINT)
        if keep < length:
            _put(post, place, clip(text, keep))
            cuts.clipped += 1
    return cuts


# Places in a post `cut` may shorten, besides the body paragraphs (by index).
REST, HOOK = -1, -2


def _get(post: Post, place: int) -> str:
    if place == HOOK:
        return post.head[0]
    if place == REST:
        return "\n".join(post.head[1:])
    return post.body[place]


def _put(post: Post, place: int, text: str) -> None:
    if place == HOOK:
        post.head[0] = text
    elif place == REST:
        post.head[1:] = text.split("\n") if text else []
    else:
        post.body[place] = text


def shorten(text: str) -> tuple[str, list[str]]:
    before = graphemes(text)
    target = max(min(round(before * 0.6), 1300), min(300, round(before * 0.8)))
    post = parse(text)
    cuts = cut(post, target)
    if not cuts:
        return text, [
            "Nothing could be cut without losing the hook, the call to action or the "
            "hashtags, so the draft is unchanged."
        ]
    result = post.render()
    after = graphemes(result)
    return result, [f"Cut {cuts.describe()} (from {before:,} to {after:,} characters)."]
