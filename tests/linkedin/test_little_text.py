"""little text: escape and unescape are inverses, and escape's output is what LinkedIn parses.

The checks here are written without the module's own patterns: a small scanner of little text
and a plain escaper, so a mistake in the module cannot hide behind itself.
"""

import operator
from typing import NamedTuple

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from linkedin_posts.linkedin.little_text import (
    HASHTAG_PATTERN,
    Mention,
    escape,
    hashtags,
    mentions,
    unescape,
)
from linkedin_posts.posts.schemas import TAG_PATTERN

RESERVED = set("\\|{}@[]()<>#*_~")
TEMPLATE = "{hashtag|\\#|"
FULLWIDTH_HASH = "\uff03"


def backslashed(text: str) -> str:
    return "".join("\\" + char if char in RESERVED else char for char in text)


def read_text(little: str, at: int, closer: str = "") -> int:
    """Walk grammar `Text` from `at` to an unescaped `closer` or the end; return where it stops."""
    while at < len(little) and little[at] not in closer:
        if little[at] == "\\":
            assert little[at + 1 : at + 2] in RESERVED, f"stray backslash at {at} in {little!r}"
            at += 2
        else:
            assert little[at] not in RESERVED, f"unescaped {little[at]!r} at {at} in {little!r}"
            at += 1
    return at


def assert_little_text(little: str) -> None:
    """Fail unless every reserved character outside hashtag and mention syntax is escaped."""
    at = 0
    while at < len(little):
        if little.startswith(TEMPLATE, at):
            end = read_text(little, at + len(TEMPLATE), "}")
            assert end > at + len(TEMPLATE), f"empty hashtag at {at} in {little!r}"
            assert little[end : end + 1] == "}", f"unclosed hashtag at {at} in {little!r}"
            at = end + 1
        elif little.startswith("@[", at):
            name_end = read_text(little, at + 2, "]")
            assert name_end > at + 2, f"empty mention name at {at} in {little!r}"
            assert little.startswith("](urn:li:", name_end), f"bad mention at {at} in {little!r}"
            urn_end = read_text(little, name_end + 2, ")")
            assert little[urn_end : urn_end + 1] == ")", f"unclosed mention at {at} in {little!r}"
            at = urn_end + 1
        else:
            # Plain text runs to the next `{` or `@`, which must open a hashtag or a mention.
            at = read_text(little, at, "{@")
            if at < len(little) and not little.startswith((TEMPLATE, "@["), at):
                pytest.fail(f"unescaped {little[at]!r} at {at} in {little!r}")


# --- strategies -----------------------------------------------------------------------------

tag_chars = st.characters(categories=("L", "M", "N"), include_characters="_-\u200c\u200d")
# A hashtag starts with a letter, digit or `_` (a `#` before marks is the keycap emoji #️⃣).
tag_starts = st.characters(categories=("L", "N"), include_characters="_")
tags = st.builds(operator.add, tag_starts, st.text(tag_chars, max_size=11))
person_urns = st.from_regex(r"urn:li:person:[A-Za-z0-9_-]{1,12}", fullmatch=True)
organization_urns = st.from_regex(r"urn:li:organization:[0-9]{1,10}", fullmatch=True)
urns = person_urns | organization_urns
# Any name a mention can carry, reserved characters included.
names = st.text(st.characters(exclude_characters="[]\n"), min_size=1, max_size=12)
mention_texts = st.builds(lambda name, urn: f"@[{name}]({urn})", names, urns)
# Pieces that sit next to each other in surprising ways: what escape must tell apart.
pieces = st.one_of(
    st.sampled_from(sorted(RESERVED)),
    st.sampled_from(
        [
            "#",
            "C#",
            "abc#def",
            " ",
            "\n",
            "\\#",
            "\\\\",
            "@[",
            "](",
            "urn:li:person:x",
            "urn:li:organization:42",
            "{hashtag|\\#|x}",
            "{hashtag|#|x}",
            FULLWIDTH_HASH,
            "\u200d",
            "\U0001f680",
            "\U0001f469\U0001f3fd\u200d\U0001f4bb",
            "e\u0301",
            "50%",
            "http://example.com/a_b(c)#frag",
        ]
    ),
    tags.map(lambda tag: "#" + tag),
    mention_texts,
    st.text(max_size=5),
)
mixed_texts = st.lists(pieces, max_size=25).map("".join)
any_texts = st.text() | mixed_texts


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=150)
@given(any_texts)
def test_unescape_reverses_escape(text: str) -> None:
    assert unescape(escape(text)) == text


@settings(max_examples=150)
@given(any_texts)
def test_escape_leaves_no_reserved_character_unescaped(text: str) -> None:
    assert_little_text(escape(text))


@settings(max_examples=150)
@given(any_texts)
def test_every_hashtag_found_is_a_tag_the_post_schema_accepts(text: str) -> None:
    for tag in hashtags(text):
        assert regex.fullmatch(TAG_PATTERN, tag), tag


@settings(max_examples=150)
@given(any_texts)
def test_mention_offsets_point_at_the_mention(text: str) -> None:
    for mention in mentions(text):
        assert text[mention.start : mention.end] == f"@[{mention.name}]({mention.urn})"


class Part(NamedTuple):
    plain: str
    little: str
    tag: str | None = None
    mention: tuple[str, str] | None = None


tag_parts = tags.map(lambda tag: Part("#" + tag, TEMPLATE + backslashed(tag) + "}", tag=tag))
mention_parts = st.tuples(names, urns).map(
    lambda m: Part(f"@[{m[0]}]({m[1]})", f"@[{backslashed(m[0])}]({backslashed(m[1])})", mention=m)
)
# Reserved characters, but nothing that starts a hashtag or a mention.
word_parts = st.text(st.characters(exclude_characters="#@\n"), min_size=1).map(
    lambda word: Part(word, backslashed(word))
)


@settings(max_examples=150)
@given(st.lists(tag_parts | mention_parts | word_parts, max_size=12))
def test_hashtags_and_mentions_survive_escaping(parts: list[Part]) -> None:
    # Spaces keep a hashtag from running into its neighbours.
    text = " ".join(part.plain for part in parts)

    assert escape(text) == " ".join(part.little for part in parts)
    assert hashtags(text) == [part.tag for part in parts if part.tag is not None]
    assert [(m.name, m.urn) for m in mentions(text)] == [
        part.mention for part in parts if part.mention is not None
    ]


# --- examples -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "little"),
    [
        (
            "Ship it (today)! #launch @[Ada](urn:li:person:abc123) C# 50% off_now",
            "Ship it \\(today\\)! {hashtag|\\#|launch} @[Ada](urn:li:person:abc123) "
            "C\\# 50% off\\_now",
        ),
        ("#launch_day", "{hashtag|\\#|launch\\_day}"),
        ("#Café #日本語 #v2-beta", "{hashtag|\\#|Café} {hashtag|\\#|日本語} {hashtag|\\#|v2-beta}"),
        ("abc#def # #! ##tag", "abc\\#def \\# \\#! \\#{hashtag|\\#|tag}"),
        (
            "@[Name with (special) data](urn:li:person:_123as31)",
            "@[Name with \\(special\\) data](urn:li:person:\\_123as31)",
        ),
        ("@[Acme Corp](urn:li:organization:1234)!", "@[Acme Corp](urn:li:organization:1234)!"),
        (
            "@[Ada](urn:li:member:1) @[](urn:li:person:x)",
            "\\@\\[Ada\\]\\(urn:li:member:1\\) \\@\\[\\]\\(urn:li:person:x\\)",
        ),
        ("{hashtag|\\#|x}", "\\{hashtag\\|\\\\\\#\\|x\\}"),
        ("a\\b *c* ~d~ <e>", "a\\\\b \\*c\\* \\~d\\~ \\<e\\>"),
        (FULLWIDTH_HASH + "tag", FULLWIDTH_HASH + "tag"),
        ("", ""),
    ],
)
def test_escape_examples(plain: str, little: str) -> None:
    assert escape(plain) == little
    assert unescape(little) == plain


def test_a_run_longer_than_a_tag_is_not_a_hashtag() -> None:
    assert hashtags("#" + "a" * 50) == ["a" * 50]
    assert hashtags("#" + "a" * 51) == []
    assert escape("#" + "a" * 51) == "\\#" + "a" * 51


def test_hashtags_and_mentions_in_order() -> None:
    text = "#one @[Ada Lovelace](urn:li:person:a-b_c) #two @[C# (fans)](urn:li:organization:7)"
    assert hashtags(text) == ["one", "two"]
    assert mentions(text) == [
        Mention(name="Ada Lovelace", urn="urn:li:person:a-b_c", start=5, end=41),
        Mention(name="C# (fans)", urn="urn:li:organization:7", start=47, end=82),
    ]


def test_hashtag_pattern_is_the_hashtag_definition() -> None:
    found = [m["tag"] for m in HASHTAG_PATTERN.finditer("#a C# #b-c #")]
    assert found == ["a", "b-c"]


def test_the_keycap_emoji_is_not_a_hashtag() -> None:
    assert hashtags("Top tips #\ufe0f\u20e3 today") == []
    assert escape("#\ufe0f\u20e3") == "\\#\ufe0f\u20e3"
