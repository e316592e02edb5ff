"""Every rule of rules.RULES: a draft that fires it, a similar one that does not, and the score."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkedin_posts.analysis import rules
from linkedin_posts.analysis.engine import Analyzer
from linkedin_posts.analysis.rules import RULES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"

# A post that fires no rule: 300-2000 characters, short paragraphs, a question, two hashtags.
BASE = (
    "Three lessons from shipping our first product this year.\n\n"
    "We started with a small team, a tight budget and a long list of ideas. "
    "Most of them never made it past the first week, and that was fine.\n\n"
    "The first lesson: talk to customers before you write code.\n"
    "The second: ship something small every week.\n"
    "The third: celebrate the people who fix the boring bugs.\n\n"
    "What would you add to the list?\n\n"
    "#startups #productmanagement"
)
TAGS = "#startups #productmanagement"
QUESTION = "What would you add to the list?"
# A first line of exactly 140 characters, the mobile fold, and one of 141.
HOOK_140 = (
    "Three lessons from shipping our first product this year, after twelve long months of late "
    "nights, small wins, hard calls and so much coffee."
)
HOOK_141 = HOOK_140.replace("so much", "too much")
# A line of exactly 200 characters, the longest allowed, and one of 201.
LINE_200 = (
    "We started with a smaller team, a tight budget and a long list of ideas, most of which never "
    "made it past the first week, and looking back now I am sure that this was exactly the right "
    "outcome for us."
)
LINE_201 = LINE_200.replace("looking back now", "looking back, now")
FILLER = (
    "Small steps add up when a team keeps its promises.",
    "Customers notice the bug you fixed before they reported it.",
    "A short weekly demo beats a long quarterly plan.",
    "Write down what you learned while it is still fresh.",
)


def post(length: int, *, paragraph: str = "\n\n") -> str:
    """A clean post of exactly `length` characters (all ASCII), paragraphs joined by `paragraph`."""
    head = "Three lessons from shipping our first product this year." + paragraph
    tail = paragraph + QUESTION + paragraph + TAGS
    room = length - len(head) - len(tail)
    lines: list[str] = []
    while sum(len(line) + 1 for line in lines) < room:
        lines.append(FILLER[len(lines) % len(FILLER)])
    body = paragraph.join("\n".join(lines[i : i + 3]) for i in range(0, len(lines), 3))
    text = head + body[:room].rstrip().ljust(room, ".") + tail
    assert len(text) == length
    return text


def with_tags(text: str, tags: str) -> str:
    return text.replace(TAGS, tags)


@dataclass(frozen=True)
class Case:
    rule: str
    fires: str
    quiet: str
    # What the finding points at: a substring of `fires`, or (start, end); None: the whole text.
    where: str | tuple[int, int] | None
    # What else each fires, besides the rule under test: nothing, but for these.
    fires_ids: frozenset[str] = frozenset()
    quiet_ids: frozenset[str] = frozenset()


def case(rule: str, fires: str, quiet: str, where: Any, *, id: str = "", **kw: Any) -> Any:
    return pytest.param(Case(rule, fires, quiet, where, **kw), id=f"{rule}-{id}" if id else rule)


def cases() -> Iterator[Any]:
    yield case(
        "over_limit", post(3001), post(3000), (3000, 3001), quiet_ids=frozenset({"too_long"})
    )
    for char in ("\x0b", "\x1b", "\x85", "\u2028", "\u2029", "\ufffd", "\ue000", "\uffff"):
        fires = BASE.replace("ideas. ", f"ideas.{char} ")
        quiet = BASE.replace("ideas. ", "ideas.\t ")
        yield case("mangled_characters", fires, quiet, char, id=f"U+{ord(char):04X}")
    first_line = "Three lessons from shipping our first product this year."
    yield case(
        "hook_below_fold",
        BASE.replace(first_line, HOOK_141),
        BASE.replace(first_line, HOOK_140),
        HOOK_141,
    )
    yield case(
        "engagement_bait_hashtag",
        with_tags(BASE, "#startups #FollowMe"),
        with_tags(BASE, "#startups #followthrough"),
        "#FollowMe",
    )
    yield case("too_short", post(299), post(300), None)
    yield case("too_long", post(2001), post(2000), None)
    yield case(
        "too_many_hashtags",
        with_tags(BASE, TAGS + " #leadership #teamwork #founders #lessons #shipping"),
        with_tags(BASE, TAGS + " #leadership #teamwork #founders"),
        "#lessons #shipping",
    )
    for link in ("https://example.com/blog/lessons", "www.example.com/lessons", "example.io"):
        yield case(
            "link_in_body",
            BASE.replace(QUESTION, f"The full story is at {link}. {QUESTION}"),
            BASE.replace(QUESTION, f"The full story is on our blog. {QUESTION}"),
            link,
            id=link.split("/")[0],
        )
    yield case("wall_of_text", BASE.replace("\n\n", "\n"), BASE, None)
    yield case("wall_of_text", post(301, paragraph="\n"), post(300, paragraph="\n"), None, id="301")
    yield case(
        "all_caps",
        BASE.replace("that was fine.", "that was TOTALLY FINE BY ME."),
        BASE.replace("that was fine.", "that was TOTALLY fine by me."),
        "TOTALLY FINE BY ME",
    )
    yield case(
        "all_caps",
        BASE.replace("that was fine.", "that was fine. WE ARE HIRING."),
        BASE.replace("that was fine.", "that was fine with SQL, AWS, GCP and CI."),
        "WE ARE HIRING",
        id="acronyms",
    )
    yield case(
        "link_in_body",
        BASE.replace(QUESTION, f"Read example.com/story. {QUESTION}"),
        BASE.replace(QUESTION, f"We use ASP.NET; write to jane@example.com. {QUESTION}"),
        "example.com/story",
        id="names-and-emails",
        quiet_ids=frozenset({"reserved_characters"}),  # the email's `@`
    )
    yield case("no_hashtags", BASE.replace("\n\n" + TAGS, ""), BASE, None)
    yield case(
        "no_hashtags",
        with_tags(BASE, "Written in C#"),
        with_tags(BASE, "#csharp"),
        None,
        id="csharp",
        fires_ids=frozenset({"reserved_characters"}),  # the `#` of "C#" is not a hashtag's
    )
    yield case(
        "long_line",
        BASE.replace(QUESTION, LINE_201 + "\n" + QUESTION),
        BASE.replace(QUESTION, LINE_200 + "\n" + QUESTION),
        LINE_201,
    )
    for answer in (
        QUESTION,
        "Let me know what you would add.",
        "¿Qué añadirías a la lista?",
        "Dites-moi ce que vous ajouteriez.",
    ):
        yield case(
            "no_call_to_action",
            BASE.replace(QUESTION, "That is the whole list."),
            BASE.replace(QUESTION, answer),
            None,
            id=answer.split()[0],
        )
    styled = "\U0001d5e7\U0001d5f5\U0001d5ff\U0001d5f2\U0001d5f2"  # "Three" in sans-serif bold
    yield case("styled_unicode", BASE.replace("Three", styled, 1), BASE, styled)
    # Hashtags and mentions are LinkedIn's own markup: their `#`, `@`, `[`, `(` are not flagged.
    yield case(
        "reserved_characters",
        BASE.replace("that was fine.", "that was fine [thanks, Jane]."),
        BASE.replace("that was fine.", "that was fine, thanks to @[Jane Doe](urn:li:person:ab12)."),
        "[",
    )


CASES = list(cases())


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(
        languages=["en", "es", "fr", "de", "pt", "it", "nl"], high_accuracy=False, keywords=8
    )


def ids(result: dict[str, Any]) -> list[str]:
    return [finding["rule"] for finding in result["findings"]]


def expected_score(result: dict[str, Any]) -> int:
    return max(0, 100 - sum(RULES[rule].weight for rule in set(ids(result))))


def test_the_base_post_fires_no_rule(analyzer: Analyzer) -> None:
    result = analyzer.analyze(BASE, None)
    assert result["findings"] == []
    assert result["score"] == 100
    assert result["fits_linkedin"] is True


def test_every_rule_has_a_case() -> None:
    assert {param.values[0].rule for param in CASES} == set(RULES)


@pytest.mark.parametrize("case", CASES)
def test_rule_fires_and_stays_quiet(analyzer: Analyzer, case: Case) -> None:
    fired = analyzer.analyze(case.fires, None)
    quiet = analyzer.analyze(case.quiet, None)

    assert set(ids(fired)) == {case.rule} | case.fires_ids
    assert set(ids(quiet)) == set(case.quiet_ids)
    findings = [f for f in fired["findings"] if f["rule"] == case.rule]
    assert all(f["severity"] == RULES[case.rule].severity for f in findings)
    first = findings[0]
    if case.where is None:
        assert (first["start"], first["end"]) == (None, None)
    elif isinstance(case.where, tuple):
        assert (first["start"], first["end"]) == case.where
    else:
        start = case.fires.index(case.where)
        assert (first["start"], first["end"]) == (start, start + len(case.where))
    assert fired["score"] == expected_score(fired)
    assert quiet["score"] == expected_score(quiet)
    assert fired["fits_linkedin"] is (RULES[case.rule].severity != "error")


def test_a_rule_costs_its_weight_once_however_often_it_fires(analyzer: Analyzer) -> None:
    links = "https://example.com/a, https://example.com/b and https://example.com/c"
    result = analyzer.analyze(BASE.replace(QUESTION, f"Read {links}. {QUESTION}"), None)

    assert ids(result) == ["link_in_body"] * 3
    assert result["score"] == 100 - RULES["link_in_body"].weight


def test_score_is_never_below_zero(analyzer: Analyzer) -> None:
    text = (
        HOOK_141
        + "\nIT WAS HARD. "
        + post(3000, paragraph="\n").replace("\n", " https://example.com/story\ufffd\n", 1)
        + " #follow #a1 #a2 #a3 #a4 #a5"
    )
    result = analyzer.analyze(text, None)

    fired = set(ids(result))
    assert fired == {
        "over_limit",
        "mangled_characters",
        "hook_below_fold",
        "engagement_bait_hashtag",
        "too_many_hashtags",
        "link_in_body",
        "wall_of_text",
        "all_caps",
    }
    assert sum(RULES[rule].weight for rule in fired) == 130
    assert result["score"] == 0
    assert result["fits_linkedin"] is False


def test_docs_list_exactly_the_rules() -> None:
    row = re.compile(r"^\| `(?P<id>[a-z_]+)` \| (?P<severity>\w+) \| (?P<weight>\d+) \|", re.M)
    rows = [m.groupdict() for m in row.finditer(DOCS.read_text(encoding="utf-8"))]

    documented = {r["id"]: (r["severity"], int(r["weight"])) for r in rows}
    assert len(rows) == len(documented), "a rule is listed twice"
    assert documented == {rule.id: (rule.severity, rule.weight) for rule in RULES.values()}


def test_a_rule_reports_at_most_twenty_findings(analyzer: Analyzer) -> None:
    links = " ".join(f"https://example.com/{n}" for n in range(25))
    hashtags = " ".join(f"#tag{n}" for n in range(2000))

    result = analyzer.analyze(f"{BASE}\n\n{links}\n\n{hashtags} (end)", "en")

    assert ids(result).count("link_in_body") == 20
    assert result["score"] == 100 - sum(RULES[rule].weight for rule in set(ids(result)))
    reserved = next(f for f in result["findings"] if f["rule"] == "reserved_characters")
    assert result_text_at(reserved, f"{BASE}\n\n{links}\n\n{hashtags} (end)") == "("


def result_text_at(finding: dict[str, Any], text: str) -> str:
    return text[finding["start"] : finding["end"]]


PHRASE_SOUP = st.lists(
    st.tuples(
        st.sampled_from([*rules.CALL_TO_ACTION_PHRASES, "commentx", "share-", "re", "me", "x"]),
        st.sampled_from([" ", "", "-", ".", "_", "é", "1", "'"]),
    ),
    max_size=6,
).map(lambda parts: "".join(word + separator for word, separator in parts))


@settings(max_examples=2000, deadline=None)
@given(PHRASE_SOUP)
def test_the_call_to_action_tree_matches_where_the_phrases_do(text: str) -> None:
    phrases = re.compile(r"\b(?:" + "|".join(map(re.escape, rules.CALL_TO_ACTION_PHRASES)) + r")\b")
    assert (rules.CALL_TO_ACTION.search(text) is None) == (phrases.search(text) is None)


def test_the_mangled_prefilter_finds_every_mangled_character() -> None:
    bmp, astral = rules.MAY_BE_MANGLED
    mangled = [chr(p) for p in range(0x110000) if rules.MANGLED.match(chr(p))]
    assert mangled
    assert all(bmp.match(char) or astral.match(char) for char in mangled)
