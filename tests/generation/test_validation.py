"""What counts as a post in a model's answer, and the prompts it is checked against."""

from importlib import resources

import pytest

from linkedin_posts.generation.exceptions import ProviderInvalidOutput
from linkedin_posts.generation.prompts import FILES, PROMPTS, PromptFiles
from linkedin_posts.generation.providers.base import Brief, Goal, RewriteTask, Tone
from linkedin_posts.generation.validation import clean_output
from tests.generation.fake_openai import DEFAULT_POST

BRIEF = Brief(
    topic="What a four-hour review promise did to our lead time",
    key_points=("We wrote down a promise: every pull request reviewed within four hours",),
)
PROMPT = PROMPTS.generate(BRIEF)


def invalid(text: str) -> str:
    with pytest.raises(ProviderInvalidOutput) as caught:
        clean_output(text, prompt=PROMPT)
    return caught.value.detail


def test_a_post_comes_back_stripped() -> None:
    assert clean_output(f"\n  {DEFAULT_POST}  \n\n", prompt=PROMPT) == DEFAULT_POST


def test_windows_line_breaks_become_unix_ones() -> None:
    assert clean_output(DEFAULT_POST.replace("\n", "\r\n"), prompt=PROMPT) == DEFAULT_POST


@pytest.mark.parametrize(
    "wrapped",
    [
        f"```\n{DEFAULT_POST}\n```",
        f"```text\n{DEFAULT_POST}\n```",
        f'"{DEFAULT_POST}"',
        f"\u201c{DEFAULT_POST}\u201d",
        f"  ```\n\n{DEFAULT_POST}\n\n```  ",
    ],
    ids=["fence", "fence-with-language", "quotes", "curly-quotes", "fence-with-spaces"],
)
def test_a_fence_or_quotes_around_the_whole_post_are_removed(wrapped: str) -> None:
    assert clean_output(wrapped, prompt=PROMPT) == DEFAULT_POST


def test_quotes_that_belong_to_the_post_stay() -> None:
    post = '"Done beats perfect." My manager said it daily.\n\nWhat would you add? "Ship it."'
    assert clean_output(post, prompt=PROMPT) == post


@pytest.mark.parametrize("text", ["", "   \n\t ", "```\n\n```", '""'])
def test_an_empty_answer_is_invalid(text: str) -> None:
    assert "empty" in invalid(text)


@pytest.mark.parametrize("bad", ["\x00", chr(0xD800), chr(0xDFFF)], ids=["nul", "high", "low"])
def test_nul_and_lone_surrogates_are_invalid(bad: str) -> None:
    assert "invalid characters" in invalid(f"{DEFAULT_POST[:100]}{bad}{DEFAULT_POST[100:]}")


def test_length_is_counted_as_a_reader_counts_it() -> None:
    accented = "e\u0301"  # one character on screen, two code points
    assert clean_output(accented * 3000, prompt=PROMPT) == accented * 3000
    assert "3000" in invalid(accented * 3001)
    assert "3000" in invalid("x" * 40_000)


def test_our_instructions_in_the_answer_are_an_echo() -> None:
    leaked = "No line longer than 200 characters. Between 300 and 2000 characters in total."
    assert "repeated its instructions" in invalid(f"{DEFAULT_POST}\n\n{leaked}")


def test_half_a_copied_instruction_is_an_echo_too() -> None:
    leaked = "Tip: no links or URLs in the body of the post, they say. Here goes."
    assert "repeated its instructions" in invalid(f"{leaked}\n\n{DEFAULT_POST}")


def test_a_block_of_the_user_prompt_is_an_echo() -> None:
    leaked = "Audience: professionals on LinkedIn with an interest in the topic."
    assert "repeated its instructions" in invalid(f"{DEFAULT_POST}\n\n{leaked}")


def test_the_users_own_words_are_not_an_echo() -> None:
    post = (
        "What a four-hour review promise did to our lead time.\n\n"
        "We wrote down a promise: every pull request reviewed within four hours.\n\n" + DEFAULT_POST
    )
    assert clean_output(post, prompt=PROMPT) == post


def test_a_short_shared_phrase_is_not_an_echo() -> None:
    # Seven words in a row from the system prompt: common enough to happen by chance.
    post = f"{DEFAULT_POST}\n\nI always end with a question for the reader."
    assert clean_output(post, prompt=PROMPT) == post


def test_a_draft_that_quotes_our_wording_keeps_it_in_its_rewrite() -> None:
    draft = "My rule for posts: no links or URLs in the body of the post. " + DEFAULT_POST
    prompt = PROMPTS.rewrite(RewriteTask(text=draft, goal=Goal.SHORTEN))
    assert clean_output(draft, prompt=prompt) == draft
    assert "repeated" in invalid(draft)  # the same words, for a brief that did not have them


def test_the_prompt_files_ship_inside_the_package() -> None:
    folder = resources.files("linkedin_posts.generation").joinpath("prompts")
    assert sorted(path.name for path in folder.iterdir() if path.name.endswith(".md")) == sorted(
        FILES
    )
    assert "LinkedIn" in folder.joinpath("system.md").read_text(encoding="utf-8")


def test_the_fingerprint_is_of_the_files_contents() -> None:
    again = PromptFiles()
    assert again.fingerprint == PROMPTS.fingerprint
    assert len(PROMPTS.fingerprint) == 16
    assert int(PROMPTS.fingerprint, 16) >= 0


def test_every_goal_and_tone_renders_without_a_placeholder_left() -> None:
    for goal in Goal:
        task = RewriteTask(text="A draft.", goal=goal, tone=Tone.BOLD, language="de")
        assert "$" not in PROMPTS.rewrite(task).user
    for tone in Tone:
        brief = Brief(topic="t", tone=tone, hashtags=False, audience="CTOs")
        user = PROMPTS.generate(brief).user
        assert "$" not in user
        assert f"Tone: {tone.value}" in user
        assert "Hashtags: none." in user


def test_a_tone_rewrite_without_a_tone_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="tone"):
        PROMPTS.rewrite(RewriteTask(text="A draft.", goal=Goal.TONE))


def test_an_unknown_language_code_is_named_as_a_code() -> None:
    user = PROMPTS.generate(Brief(topic="t", language="zz")).user
    assert 'whose ISO 639-1 code is "zz"' in user
