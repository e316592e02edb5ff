"""The Posts API body: LinkedIn's documented text-only post, with the commentary escaped."""

import re
from typing import Annotated

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from linkedin_posts.linkedin.payload import AUTHOR_URN_PATTERN, post_payload
from linkedin_posts.posts.models import Visibility

# How FastAPI checks a query parameter declared with `pattern=AUTHOR_URN_PATTERN`.
query_author = TypeAdapter(Annotated[str, Field(pattern=AUTHOR_URN_PATTERN)])


def test_payload_is_linkedins_text_only_post() -> None:
    payload = post_payload(
        author="urn:li:organization:5515715",
        text="Sample (text) Post #launch",
        visibility="PUBLIC",
    )

    # LinkedIn's "Text-Only Post Creation Sample Request", with its commentary escaped.
    assert payload == {
        "author": "urn:li:organization:5515715",
        "commentary": "Sample \\(text\\) Post {hashtag|\\#|launch}",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert payload["isReshareDisabledByAuthor"] is False
    assert type(payload["visibility"]) is str


@pytest.mark.parametrize("visibility", ["PUBLIC", "CONNECTIONS", "LOGGED_IN", Visibility.PUBLIC])
def test_every_visibility_linkedin_takes(visibility: str) -> None:
    payload = post_payload(author="urn:li:person:abc-1_X", text="hi", visibility=visibility)
    assert payload["visibility"] == str(visibility)
    assert type(payload["visibility"]) is str


@pytest.mark.parametrize("visibility", ["public", "CONTAINER", ""])
def test_an_unknown_visibility_is_refused(visibility: str) -> None:
    with pytest.raises(ValueError, match=visibility or "''"):
        post_payload(author="urn:li:person:abc", text="hi", visibility=visibility)


@pytest.mark.parametrize(
    "author",
    ["urn:li:person:abc123", "urn:li:person:-f_Ut43FoQ", "urn:li:organization:2414183"],
)
def test_author_urns_accepted(author: str) -> None:
    assert re.fullmatch(AUTHOR_URN_PATTERN, author)
    assert query_author.validate_python(author) == author
    assert post_payload(author=author, text="hi", visibility="PUBLIC")["author"] == author


@pytest.mark.parametrize(
    "author",
    [
        "",
        "urn:li:person:",
        "urn:li:person:" + "a" * 65,
        "urn:li:person:ab cd",
        "urn:li:person:ab.cd",
        "urn:li:person:\u00e9",
        "urn:li:organization:12a",
        "urn:li:organization:\u0661\u0662",
        "urn:li:member:123",
        "urn:li:person:abc\n",
        " urn:li:person:abc",
    ],
)
def test_author_urns_refused(author: str) -> None:
    assert not re.fullmatch(AUTHOR_URN_PATTERN, author)
    with pytest.raises(ValidationError):
        query_author.validate_python(author)
    with pytest.raises(ValueError, match="author"):
        post_payload(author=author, text="hi", visibility="PUBLIC")


def test_author_urn_pattern_is_portable() -> None:
    # JSON Schema validators and pydantic read `\w`, `\d` and lookarounds differently from re.
    for construct in ("\\w", "\\d", "\\s", "(?=", "(?!", "(?<"):
        assert construct not in AUTHOR_URN_PATTERN
    assert AUTHOR_URN_PATTERN.startswith("^")
    assert AUTHOR_URN_PATTERN.endswith("$")
