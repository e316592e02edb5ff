r"""LinkedIn's "little" text format, which the Posts API reads `commentary` in.

Rules, from learn.microsoft.com/linkedin/marketing/community-management/shares/little-text-format:
every reserved character `\ | { } @ [ ] ( ) < > # * _ ~` is backslash-escaped, "even if those
characters are not used in one of the supported elements or templates" (unescaped, LinkedIn
accepts the post and silently cuts it at the first one); a hashtag is the template
`{hashtag|\#|tag}`, whose value is grammar `Text`, escaped like any other; a mention is
`@[Name](urn:li:person:ID)` or `@[Name](urn:li:organization:ID)`. LinkedIn support (Microsoft Q&A
5741122, "Issues when mentioning URNs with special characters") adds that the name and the URN
inside a mention are escaped too: `@[Name with \(special\) data](urn:li:person:\_123as31)`.
"""

from dataclasses import dataclass

import regex

RESERVED = "\\|{}@[]()<>#*_~"  # the backslash first: _backslashed() relies on it
# A member or an organization: what a post may be written by or mention. ASCII classes only, so
# Python, pydantic and JSON Schema validators read it alike.
ENTITY_URN = r"urn:li:(?:person:[A-Za-z0-9_-]{1,64}|organization:[0-9]{1,64})"

# The characters posts.schemas.TAG_PATTERN allows in a tag, so a hashtag found in a body is
# always a tag the post schema accepts. A `#` right after one of them (`C#`, `abc#def`) is
# not a hashtag, and neither is a run longer than a tag may be.
_TAG_CHAR = r"[\p{L}\p{M}\p{N}_\u200C\u200D-]"
# A tag starts with a letter, digit or `_`: in the keycap emoji #️⃣ the `#` is followed by marks.
_HASHTAG = rf"(?<!{_TAG_CHAR})#(?P<tag>[\p{{L}}\p{{N}}_]{_TAG_CHAR}{{0,49}}+)(?!{_TAG_CHAR})"
# The name is bounded so a stray `@[` never scans the rest of the post.
_MENTION = rf"@\[(?P<name>[^\[\]\n]{{1,100}})\]\((?P<urn>{ENTITY_URN})\)"

# A `#tag` on its own; hashtags() also skips the ones inside a mention's name.
HASHTAG_PATTERN = regex.compile(_HASHTAG)
# The scan meets a mention's `@` before any `#` in its name, so that `#` stays in the mention.
_TOKEN = regex.compile(f"{_MENTION}|{_HASHTAG}")
# In escape's output an unescaped `{` only opens a hashtag template and an unescaped `}` only
# closes one, so one substitution undoes it: `\c` to `c`, `{hashtag|\#|` to `#`, `}` to nothing.
_TO_UNESCAPE = regex.compile(r"\\(?P<char>.)|\{hashtag\|\\(?P<hash>#)\||\}", regex.DOTALL)


@dataclass(frozen=True, slots=True)
class Mention:
    """A mention in plain text; `text[start:end]` is the whole `@[name](urn)`."""

    name: str
    urn: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Hashtag:
    """A hashtag in plain text; `text[start:end]` is `#tag`."""

    tag: str
    start: int
    end: int


def _backslashed(text: str) -> str:
    # Fifteen str.replace scans, in C, are several times faster than str.translate, which takes
    # a per-character slow path as soon as the text has a non-ASCII character.
    text = text.replace("\\", "\\\\")  # first, so the backslashes added below stay single
    for char in RESERVED[1:]:
        text = text.replace(char, "\\" + char)
    return text


def _escape_token(match: regex.Match[str]) -> str:
    # `_` is the one reserved character a tag or a URN can hold.
    if (tag := match["tag"]) is not None:
        return "{hashtag|\\#|" + tag.replace("_", "\\_") + "}"
    return "@[" + _backslashed(match["name"]) + "](" + match["urn"].replace("_", "\\_") + ")"


def escape(text: str) -> str:
    """Write a plain draft as little text: hashtags and mentions as LinkedIn's, the rest literal."""
    # Hashtags and mentions are few; the text between them is escaped in bulk rather than by a
    # Python callback per reserved character.
    parts: list[str] = []
    done = 0
    for match in _TOKEN.finditer(text):
        parts += (_backslashed(text[done : match.start()]), _escape_token(match))
        done = match.end()
    parts.append(_backslashed(text[done:]))
    return "".join(parts)


def unescape(little: str) -> str:
    """Turn `escape`'s output back into the plain draft it was made from."""
    # A mention's `@[`, `](` and `)` were written unescaped, so they pass through as they are;
    # a group that did not take part in the match adds nothing. (On text escape did not write,
    # a stray unescaped `}` is dropped.)
    return _TO_UNESCAPE.sub(r"\g<char>\g<hash>", little)


def hashtags(text: str) -> list[str]:
    """Return the tags `escape` makes hashtags of, without `#`, in order of appearance."""
    return [tag for match in _TOKEN.finditer(text) if (tag := match["tag"]) is not None]


def hashtag_spans(text: str) -> list[Hashtag]:
    """Return the hashtags `escape` makes templates of, with where they are."""
    return [
        Hashtag(tag=tag, start=match.start(), end=match.end())
        for match in _TOKEN.finditer(text)
        if (tag := match["tag"]) is not None
    ]


def mentions(text: str) -> list[Mention]:
    """Return the mentions `escape` keeps as mentions, in order of appearance."""
    return [
        Mention(name=match["name"], urn=urn, start=match.start(), end=match.end())
        for match in _TOKEN.finditer(text)
        if (urn := match["urn"]) is not None
    ]
