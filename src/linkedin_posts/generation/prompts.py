"""The prompts sent to a chat-completion provider, kept as files in `prompts/` and rendered here.

Each file is a `string.Template`: a main text, then named blocks, each starting on a line
`<!-- block: NAME -->`, for the parts a request may or may not need. Rendering is one
`safe_substitute` pass per template, so a user's `$topic` or `{...}` is inserted as written and
never expanded. One-line values (topic, audience, key points, call to action) have their line
breaks folded into spaces, so they cannot add lines that look like ours.
"""

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from string import Template

from linkedin_posts.generation.providers.base import (
    LENGTH_TARGETS,
    Brief,
    Goal,
    RewriteTask,
)

FILES = ("system.md", "generate.md", "rewrite.md")
_BLOCK = re.compile(r"^<!-- block: ([a-z_:]+) -->$", re.MULTILINE)
# Fewer words of our wording in a row can be a coincidence ("a question for the reader").
ECHO_MIN_WORDS = 8
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """The two messages of a call, and the user's own words that went into them."""

    system: str
    user: str
    inputs: tuple[str, ...]


def word_runs(text: str, length: int = ECHO_MIN_WORDS) -> set[tuple[str, ...]]:
    """Every `length` words in a row in `text`, casefolded, without punctuation."""
    words = _WORD.findall(text.casefold())
    return {tuple(words[i : i + length]) for i in range(len(words) - length + 1)}


class PromptFiles:
    """The prompt files of a package, read once."""

    def __init__(self, package: str = "linkedin_posts.generation") -> None:
        folder = resources.files(package).joinpath("prompts")
        texts = {name: folder.joinpath(name).read_text(encoding="utf-8") for name in FILES}
        digest = hashlib.sha256()
        for name in FILES:
            digest.update(f"{name}\0{texts[name]}\0".encode())
        self.fingerprint = digest.hexdigest()[:16]
        self.templates = {name: _parse(text) for name, text in texts.items()}
        self.system = self.templates["system.md"][""].template
        # Our own wording, for the echo check: the runs of words between placeholders, so that
        # none of them spans a user's value.
        self.instruction_runs = frozenset(
            run
            for blocks in self.templates.values()
            for template in blocks.values()
            # split() also returns the pattern's groups: keep the text between them.
            for part in template.pattern.split(template.template)[:: template.pattern.groups + 1]
            for run in word_runs(part)
        )

    def _block(self, file: str, name: str, **values: str) -> str:
        return self.templates[file][name].safe_substitute(values).strip("\n")

    def generate(self, brief: Brief) -> RenderedPrompt:
        topic = _one_line(brief.topic)
        points = tuple(_one_line(point) for point in brief.key_points if point.strip())
        audience = _one_line(brief.audience) if brief.audience else ""
        action = _one_line(brief.call_to_action) if brief.call_to_action else ""
        low, high = LENGTH_TARGETS[brief.length]
        key_points = (
            self._block("generate.md", "key_points", items="\n".join(f"- {p}" for p in points))
            if points
            else self._block("generate.md", "no_key_points")
        )
        user = self._block(
            "generate.md",
            "",
            topic=topic,
            key_points=key_points,
            audience=(
                self._block("generate.md", "audience", audience=audience)
                if audience
                else self._block("generate.md", "no_audience")
            ),
            tone=brief.tone.value,
            min_chars=str(low),
            max_chars=str(high),
            language=language_name(brief.language),
            hashtags=self._block("generate.md", "hashtags" if brief.hashtags else "no_hashtags"),
            call_to_action=(
                self._block("generate.md", "call_to_action", call_to_action=action)
                if action
                else self._block("generate.md", "no_call_to_action")
            ),
        )
        inputs = tuple(value for value in (topic, *points, audience, action) if value)
        return RenderedPrompt(self.system, user, inputs)

    def rewrite(self, task: RewriteTask) -> RenderedPrompt:
        if task.goal is Goal.TONE and task.tone is None:
            raise ValueError("a tone rewrite needs the tone to write in")
        goal = self._block(
            "rewrite.md",
            f"goal:{task.goal.value}",
            tone=task.tone.value if task.tone else "",
        )
        language = (
            self._block("rewrite.md", "language", language=language_name(task.language))
            if task.language
            else self._block("rewrite.md", "same_language")
        )
        draft = task.text.strip()
        user = self._block("rewrite.md", "", draft=draft, goal=goal, language=language)
        return RenderedPrompt(self.system, user, (draft,))


def _parse(text: str) -> dict[str, Template]:
    """The main template (named "") and the named blocks of a prompt file."""
    parts = _BLOCK.split(text)
    blocks = {"": Template(parts[0].strip("\n"))}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        blocks[name] = Template(body.strip("\n"))
    for name, template in blocks.items():
        if not template.is_valid():
            raise ValueError(f"prompt block {name!r} has a stray '$'; write '$$' for a dollar")
    return blocks


def _one_line(text: str) -> str:
    return " ".join(text.split())


def language_name(code: str) -> str:
    """The English name of an ISO 639-1 code, which models follow better than the code."""
    from lingua import IsoCode639_1, Language  # here: importing prompts loads no lingua

    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code)).name.title()
    except ValueError:
        return f'the language whose ISO 639-1 code is "{code}"'


PROMPTS = PromptFiles()
