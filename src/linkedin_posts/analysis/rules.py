"""The rules a draft is checked against, their weights, and the score they add up to.

docs/analysis.md lists the same rules for readers; tests/analysis/test_rules.py keeps the two equal.
"""

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import regex

from linkedin_posts.analysis import fold as folding
from linkedin_posts.analysis.text import BLANK_LINE, Counts, Span
from linkedin_posts.linkedin.little_text import Hashtag
from linkedin_posts.posts.schemas import MAX_BODY_GRAPHEMES, count_graphemes

Severity = Literal["error", "warning", "info"]

MAX_GRAPHEMES = MAX_BODY_GRAPHEMES  # LinkedIn's limit, the one posts are held to
SWEET_SPOT = (300, 2000)
MAX_HASHTAGS = 5
WALL_OF_TEXT = 300
LONG_LINE = 200
MAX_FINDINGS_PER_RULE = 20
# Tags that ask for reach rather than describe the post; LinkedIn's feed demotes engagement bait.
BAIT_HASHTAGS = frozenset(
    {
        "follow", "followme", "followforfollow", "follow4follow", "followback", "f4f",
        "like", "likes", "like4like", "likeforlike", "likeforlikes", "l4l",
        "comment", "comments", "commentforcomment", "comment4comment", "c4c",
        "share", "shareforshare", "share4share", "s4s", "tagafriend", "viral", "goviral",
    }
)  # fmt: skip
# An invitation to answer, in each language the detector knows by default. A question mark
# anywhere also counts.
CALL_TO_ACTION_PHRASES = [
    "comment below", "comment", "share", "repost", "let me know", "tell me", "what do you think",
    "thoughts", "agree", "follow me", "dm me", "message me", "reach out", "sign up", "register",
    "join us", "download", "learn more", "drop a",
    "comenta", "comparte", "cuéntame", "cuéntanos", "qué opinas", "déjame saber", "sígueme",
    "escríbeme", "únete", "regístrate",
    "commentez", "partagez", "dites-moi", "qu'en pensez-vous", "suivez-moi", "rejoignez-nous",
    "inscrivez-vous",
    "kommentiert", "teilt", "schreibt mir", "schreib mir", "was denkt ihr", "was denken sie",
    "folgt mir", "meldet euch",
    "comente", "compartilhe", "partilhe", "me conta", "o que acha", "siga-me", "inscreva-se",
    "commenta", "condividi", "fammi sapere", "cosa ne pensi", "seguimi", "iscriviti",
    "reageer", "deel", "laat me weten", "wat vind jij", "wat vinden jullie", "volg mij",
    "meld je aan",
]  # fmt: skip


def _trie(phrases: list[str]) -> str:
    """An alternation of `phrases` as a tree of their letters ("comment(?: below)?"): `re` tries
    one branch per letter at each word instead of every phrase, three times faster. It matches
    where the flat alternation does, though not always the same phrase at one place."""
    root: dict[str, Any] = {}
    for phrase in phrases:
        node = root
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}  # a phrase ends here

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(rest) for char, rest in sorted(node.items()) if char]
        if not branches:
            return ""
        either = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{either})?" if "" in node else either

    return pattern(root)


# Searched (for whether it matches at all) on the lower-cased text with `re`: three times faster
# than `regex` with (?i) here.
CALL_TO_ACTION = re.compile(rf"\b{_trie(CALL_TO_ACTION_PHRASES)}\b")
# Three or more words in capitals in a row, as a phrase: a list of acronyms (SQL, AWS, GCP) is
# not shouting.
SHOUTING = regex.compile(r"\b\p{Lu}{2,}\b(?:[!?.]*[ \t]+\p{Lu}{2,}\b){2,}")
# Characters that do not come through LinkedIn intact: control characters (tab and line breaks
# aside), line/paragraph separators, the replacement character, private-use and noncharacters.
MANGLED = regex.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufffd\p{Co}\p{Noncharacter_Code_Point}]"
)
# Every character MANGLED matches is in one of these (private use and noncharacters are fixed by
# Unicode's stability policy): `re` scans a text for either in a tenth of MANGLED's time, since
# each is a table lookup or a single range per character.
MAY_BE_MANGLED = (
    re.compile(
        "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufffd\ue000-\uf8ff\ufdd0-\ufdef\ufffe\uffff]"
    ),
    re.compile("[\U0001fffe-\U0010ffff]"),
)
# Mathematical bold/italic letters that tools offer as "formatting": screen readers spell them
# out letter by letter and LinkedIn's search does not find the words.
STYLED = regex.compile(r"[\U0001D400-\U0001D7FF]+")
RESERVED = re.compile(r"[\\|{}@\[\]()<>#*_~]")  # `re`: three times faster than `regex` here


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    weight: int
    summary: str


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    start: int | None
    end: int | None


@dataclass(frozen=True, slots=True)
class Draft:
    """What the rules look at, computed once."""

    text: str
    # Code points of the first MAX_GRAPHEMES characters: what LinkedIn would publish.
    publishable: int
    counts: Counts
    hook: str
    mobile_fold: folding.Fold
    hashtags: list[Hashtag]
    links: list[Span]
    # Hashtags and mentions: LinkedIn's own markup, which the payload writes as templates.
    templates: list[tuple[int, int]]


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("over_limit", "error", 40, f"Longer than LinkedIn's {MAX_GRAPHEMES} characters."),
        Rule("mangled_characters", "error", 20, "Characters LinkedIn does not keep intact."),
        Rule("hook_below_fold", "warning", 15, "First line longer than the mobile fold."),
        Rule("engagement_bait_hashtag", "warning", 15, "Hashtags such as #follow or #like."),
        Rule("too_short", "warning", 10, f"Under {SWEET_SPOT[0]} characters."),
        Rule("too_long", "warning", 10, f"Over {SWEET_SPOT[1]} characters."),
        Rule("too_many_hashtags", "warning", 10, f"More than {MAX_HASHTAGS} hashtags."),
        Rule("link_in_body", "warning", 10, "A link in the post; put it in the first comment."),
        Rule("wall_of_text", "warning", 10, f"Over {WALL_OF_TEXT} characters, no blank line."),
        Rule("all_caps", "warning", 10, "Three or more words in capitals in a row."),
        Rule("no_hashtags", "info", 5, "No hashtag."),
        Rule("long_line", "info", 5, f"A line over {LONG_LINE} characters."),
        Rule("no_call_to_action", "info", 5, "No question and no call to action."),
        Rule("styled_unicode", "warning", 5, "Bold or italic Unicode letters."),
        Rule("reserved_characters", "info", 0, "Characters LinkedIn's API reserves."),
    )
}


def score(findings: list[Finding]) -> int:
    """100, less each rule's weight once, however often it fired."""
    fired = {finding.rule for finding in findings}
    return max(0, 100 - sum(RULES[rule].weight for rule in fired))


def _finding(rule: str, message: str, start: int | None = None, end: int | None = None) -> Finding:
    return Finding(rule, RULES[rule].severity, message, start, end)


def _length(draft: Draft) -> Iterator[Finding]:
    graphemes = draft.counts.graphemes
    if graphemes > MAX_GRAPHEMES:
        yield _finding(
            "over_limit",
            f"{graphemes} characters: LinkedIn refuses posts over {MAX_GRAPHEMES}; "
            f"cut {graphemes - MAX_GRAPHEMES}.",
            draft.publishable,
            len(draft.text),
        )
    elif graphemes > SWEET_SPOT[1]:
        yield _finding(
            "too_long",
            f"{graphemes} characters: posts of {SWEET_SPOT[0]}-{SWEET_SPOT[1]} are read to the "
            "end more often; consider splitting it.",
        )
    if graphemes < SWEET_SPOT[0]:
        yield _finding(
            "too_short",
            f"{graphemes} characters: posts of {SWEET_SPOT[0]}-{SWEET_SPOT[1]} give readers "
            "enough to engage with.",
        )


def _hook(draft: Draft) -> Iterator[Finding]:
    if draft.hook and not draft.mobile_fold.hook_fits:
        start = draft.text.find(draft.hook)
        yield _finding(
            "hook_below_fold",
            f"The first line is cut on mobile, which shows about {folding.MOBILE_CHARACTERS} "
            'characters before "…see more"; shorten it so the hook is read whole.',
            start,
            start + len(draft.hook),
        )


def _hashtags(draft: Draft) -> Iterator[Finding]:
    if not draft.hashtags:
        yield _finding("no_hashtags", "No hashtag: add 1-3 that say what the post is about.")
    elif len(draft.hashtags) > MAX_HASHTAGS:
        extra = draft.hashtags[MAX_HASHTAGS]
        yield _finding(
            "too_many_hashtags",
            f"{len(draft.hashtags)} hashtags: more than {MAX_HASHTAGS} reads as spam; keep "
            "the 3-5 that fit best.",
            extra.start,
            draft.hashtags[-1].end,
        )
    for tag in draft.hashtags:
        if tag.tag.lower() in BAIT_HASHTAGS:
            yield _finding(
                "engagement_bait_hashtag",
                f"#{tag.tag} asks for reach, not readers; LinkedIn demotes engagement bait.",
                tag.start,
                tag.end,
            )


def _links(draft: Draft) -> Iterator[Finding]:
    for link in draft.links:
        yield _finding(
            "link_in_body",
            "LinkedIn shows posts with outside links to fewer people: put the link in the "
            "first comment.",
            link.start,
            link.end,
        )


def _layout(draft: Draft) -> Iterator[Finding]:
    if draft.counts.graphemes > WALL_OF_TEXT and not BLANK_LINE.search(draft.text):
        yield _finding(
            "wall_of_text",
            "No blank line: break the text into short paragraphs so it can be skimmed.",
        )
    offset = 0
    for line in draft.text.split("\n"):
        # A line has at least as many code points as characters: count only the long ones.
        if len(line) > LONG_LINE:
            length = count_graphemes(line.rstrip("\r"))
            if length > LONG_LINE:
                yield _finding(
                    "long_line",
                    f"A line of {length} characters: keep lines under {LONG_LINE}.",
                    offset,
                    offset + len(line),
                )
        offset += len(line) + 1


def _call_to_action(draft: Draft) -> Iterator[Finding]:
    text = draft.text
    if "?" not in text and "¿" not in text and not CALL_TO_ACTION.search(text.lower()):
        yield _finding(
            "no_call_to_action",
            "No question or call to action: end with one so readers know how to respond.",
        )


def _characters(draft: Draft) -> Iterator[Finding]:
    for match in SHOUTING.finditer(draft.text):
        yield _finding(
            "all_caps",
            "Words in capitals read as shouting; use capitals for one word at most.",
            match.start(),
            match.end(),
        )
    text = draft.text
    bmp, astral = MAY_BE_MANGLED
    for match in MANGLED.finditer(text) if bmp.search(text) or astral.search(text) else ():
        yield _finding(
            "mangled_characters",
            f"U+{ord(match.group()):04X} does not survive LinkedIn: remove it.",
            match.start(),
            match.end(),
        )
    for match in STYLED.finditer(draft.text):
        yield _finding(
            "styled_unicode",
            "Bold or italic Unicode letters: screen readers spell them out and search "
            "does not find them.",
            match.start(),
            match.end(),
        )
    # Positions inside a hashtag or a mention, marked once: a scan per character would cost
    # hashtags x characters on a text made of hashtags.
    markup = bytearray(len(draft.text))
    for start, end in draft.templates:
        markup[start:end] = b"\x01" * (end - start)
    reserved = next(
        (match for match in RESERVED.finditer(draft.text) if not markup[match.start()]), None
    )
    if reserved:
        yield _finding(
            "reserved_characters",
            f"{reserved.group()!r} is reserved in LinkedIn's API: this service escapes it when "
            "publishing; a tool that does not would have the post cut here.",
            reserved.start(),
            reserved.end(),
        )


CHECKS: tuple[Callable[[Draft], Iterator[Finding]], ...] = (
    _length,
    _hook,
    _hashtags,
    _links,
    _layout,
    _call_to_action,
    _characters,
)


def check(draft: Draft) -> list[Finding]:
    """The findings, at most MAX_FINDINGS_PER_RULE of each rule: a text of a thousand links
    needs no thousand findings saying so."""
    per_rule: Counter[str] = Counter()
    findings = []
    for check_ in CHECKS:
        for finding in check_(draft):
            per_rule[finding.rule] += 1
            if per_rule[finding.rule] <= MAX_FINDINGS_PER_RULE:
                findings.append(finding)
    return findings
