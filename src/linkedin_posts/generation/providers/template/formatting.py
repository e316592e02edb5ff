"""Fix a draft's formatting: line endings, styling, shouting, blank space, walls of text."""

import regex

from linkedin_posts.analysis import rules
from linkedin_posts.generation.providers.template.cleanup import (
    MARKDOWN_BOLD,
    plain_styled,
    tone_down,
)
from linkedin_posts.generation.providers.template.draft import split_paragraphs
from linkedin_posts.generation.providers.template.text import (
    LINE_LIMIT,
    LIST_ITEM,
    graphemes,
    plural,
    reflow,
    wrap,
)
from linkedin_posts.generation.providers.template.topic import HOOK_LIMIT

BLANK_RUN = regex.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
TRAILING_SPACE = regex.compile(r"[ \t]+$", regex.MULTILINE)


def _split_wall(text: str) -> list[str]:
    """A text with no blank line as paragraphs: each line one, except a list (with the line
    before it, if that ends with a colon)."""
    groups: list[list[str]] = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        last = groups[-1][-1] if groups else ""
        if LIST_ITEM.match(line) and (LIST_ITEM.match(last) or last.rstrip().endswith(":")):
            groups[-1].append(line)
        else:
            groups.append([line])
    return ["\n".join(group) for group in groups]


def fix_formatting(text: str) -> tuple[str, list[str]]:
    notes: list[str] = []
    fixed = text
    if "\r" in fixed:
        fixed = fixed.replace("\r\n", "\n").replace("\r", "\n")
        notes.append("Turned Windows and old Mac line endings into plain line breaks.")
    separators = fixed.count("\u2028") + fixed.count("\u2029")
    if separators:
        fixed = fixed.replace("\u2029", "\n\n").replace("\u2028", "\n")
        notes.append(f"Turned {plural(separators, 'Unicode line separator')} into line breaks.")
    mangled = len(rules.MANGLED.findall(fixed))
    if mangled:
        fixed = rules.MANGLED.sub("", fixed)
        notes.append(
            f"Removed {plural(mangled, 'character')} that LinkedIn does not keep intact "
            "(control characters, private-use characters or U+FFFD)."
        )
    fixed, styled = plain_styled(fixed)
    if styled:
        notes.append(f"Turned {plural(styled, 'bold or italic Unicode letter')} into plain ones.")
    bold = len(MARKDOWN_BOLD.findall(fixed))
    if bold:
        fixed = MARKDOWN_BOLD.sub(r"\1", fixed)
        notes.append(
            f"Removed the Markdown asterisks around {plural(bold, 'phrase')}: LinkedIn shows "
            "them as they are."
        )
    fixed, shouting = tone_down(fixed)
    if shouting:
        notes.append(f"Toned down {plural(shouting, 'run')} of words in capitals.")
    spaces = len(TRAILING_SPACE.findall(fixed))
    if spaces:
        fixed = TRAILING_SPACE.sub("", fixed)
        notes.append(f"Removed trailing spaces from {plural(spaces, 'line')}.")
    blanks = len(BLANK_RUN.findall(fixed))
    if blanks:
        fixed = BLANK_RUN.sub("\n\n", fixed)
        notes.append(
            "Collapsed a run of blank lines into one blank line."
            if blanks == 1
            else f"Collapsed {blanks:,} runs of blank lines into one blank line each."
        )

    stripped = fixed.strip()
    long_lines = sum(1 for line in stripped.split("\n") if graphemes(line) > LINE_LIMIT)
    reflowed: list[str] = []
    walls: list[int] = []
    paragraphs = split_paragraphs(stripped)
    for paragraph in paragraphs:
        prose_lines = [line for line in paragraph.split("\n") if not LIST_ITEM.match(line)]
        if graphemes(paragraph) <= rules.WALL_OF_TEXT or (
            len(paragraphs) > 1 and all(graphemes(line) <= LINE_LIMIT for line in prose_lines)
        ):
            reflowed.append(wrap(paragraph))
            continue
        # A wall: each line a paragraph (a list stays together), and a long line's sentences
        # in short paragraphs, the very first alone if it can be a hook within the fold.
        walls.append(graphemes(paragraph))
        for group in _split_wall(paragraph):
            if "\n" in group or graphemes(group) <= LINE_LIMIT:
                reflowed.append(wrap(group))
            else:
                first = HOOK_LIMIT if not reflowed else None
                reflowed += reflow(group, LINE_LIMIT, first)
    if len(walls) == 1:
        notes.append(
            f"Split a {walls[0]:,}-character block into short paragraphs "
            f"({plural(len(reflowed), 'paragraph')} in all now, from {len(paragraphs):,})."
        )
    elif walls:
        notes.append(
            f"Split {len(walls):,} blocks of over {rules.WALL_OF_TEXT} characters into short "
            f"paragraphs ({plural(len(reflowed), 'paragraph')} in all now, from "
            f"{len(paragraphs):,})."
        )
    if long_lines:
        notes.append(
            f"Broke {plural(long_lines, 'line')} over {LINE_LIMIT} characters into shorter ones."
        )
    fixed = "\n\n".join(reflowed)
    if fixed != text and not notes:
        notes.append("Removed blank space at the start and the end.")
    if not notes:
        return text, ["The formatting was already clean, so the draft is unchanged."]
    return fixed, notes
