"""What a model's answer must be before it counts as a post.

`clean_output` trims the wrapping models add around an answer (spaces, one code fence, one pair of
quotes) and refuses, as ProviderInvalidOutput, an answer that is empty, longer than LinkedIn
allows, not valid text, or an echo of our prompt.

The echo rule: an answer echoes the prompt when it has ECHO_MIN_WORDS (8) words in a row, compared
without case or punctuation, that are our wording in the prompt files and are not in the user's
own inputs (topic, key points, audience, call to action, draft). Our wording is the text of the
files between placeholders, so no run of it spans a user's value: quoting the user's key point is
what a post should do, while "write in the first person, as the author" is our instruction
leaking into the post. Runs rather than whole lines, so that a copied half-sentence counts too;
eight words, so that a common phrase shared by chance ("end with a question") does not.
"""

import re

from linkedin_posts.generation.exceptions import ProviderInvalidOutput
from linkedin_posts.generation.prompts import PROMPTS, RenderedPrompt, word_runs
from linkedin_posts.posts.schemas import MAX_BODY_CODE_POINTS, MAX_BODY_GRAPHEMES, count_graphemes

_FENCE = re.compile(r"\A```[^\n`]*\n(?P<body>.*)\n```\Z", re.DOTALL)
_QUOTES = {'"': '"', "\u201c": "\u201d", "\u00ab": "\u00bb", "'": "'"}
# Lone surrogates survive JSON decoding ("\ud800") but no encoder or database takes them.
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_output(text: str, *, prompt: RenderedPrompt) -> str:
    """The post in a model's answer, or ProviderInvalidOutput saying what is wrong with it."""
    post = checked_post(text)
    if echoes(post, prompt):
        raise ProviderInvalidOutput("The AI provider repeated its instructions instead of a post.")
    return post


def checked_post(text: str) -> str:
    """A provider's text, unwrapped, if it can be kept as a post (any provider's, streamed or
    not: nothing unchecked is scored or stored)."""
    post = unwrap(text.replace("\r\n", "\n"))
    if not post:
        raise ProviderInvalidOutput("The AI provider returned an empty post.")
    if "\x00" in post or _SURROGATE.search(post):
        raise ProviderInvalidOutput("The AI provider returned text with invalid characters.")
    if len(post) > MAX_BODY_CODE_POINTS or count_graphemes(post) > MAX_BODY_GRAPHEMES:
        raise ProviderInvalidOutput(
            f"The AI provider returned a post over LinkedIn's {MAX_BODY_GRAPHEMES} characters."
        )
    return post


def unwrap(text: str) -> str:
    """`text` stripped, without one code fence or one pair of quotes around all of it."""
    post = text.strip()
    fenced = _FENCE.match(post)
    if fenced:
        post = fenced["body"].strip()
    closing = _QUOTES.get(post[:1])
    # Only when the quote marks appear nowhere inside: a post may open and close with quotes.
    if (
        closing
        and len(post) >= 2
        and post.endswith(closing)
        and post[0] not in post[1:-1]
        and closing not in post[1:-1]
    ):
        post = post[1:-1].strip()
    return post


def echoes(post: str, prompt: RenderedPrompt) -> bool:
    """Whether `post` repeats our prompt (the rule is in the module's docstring)."""
    ours = word_runs(post) & PROMPTS.instruction_runs
    if not ours:
        return False
    theirs = set().union(*(word_runs(value) for value in prompt.inputs))
    return bool(ours - theirs)
