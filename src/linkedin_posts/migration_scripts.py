"""Where the migration scripts are, and which revisions they define, without importing Alembic.

Readiness compares these revisions with the database's in every API process. Alembic's
ScriptDirectory gives the same answer but imports Alembic, Mako and every migration module:
~5 MB of memory per process for two sets of strings. tests/test_migrations.py checks that both
answers agree.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import linkedin_posts

_PACKAGE_DIR = Path(linkedin_posts.__file__).resolve().parent


def migrations_dir() -> Path:
    # A wheel carries them inside the package; a source checkout keeps them at the top.
    bundled = _PACKAGE_DIR / "_migrations"
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent.parent / "migrations"


@dataclass(frozen=True)
class Scripts:
    heads: frozenset[str]
    known: frozenset[str]


def read_scripts(directory: Path | None = None) -> Scripts:
    """The revisions the scripts define, and the heads: those no other script revises."""
    parents_of: dict[str, frozenset[str]] = {}
    for path in sorted((directory or migrations_dir()).glob("versions/*.py")):
        values = _module_constants(path, ("revision", "down_revision"))
        parents_of[str(values["revision"])] = _revision_set(values.get("down_revision"))
    revised = frozenset[str]().union(*parents_of.values())
    return Scripts(heads=frozenset(parents_of) - revised, known=frozenset(parents_of))


def _module_constants(path: Path, names: tuple[str, ...]) -> dict[str, object]:
    """Top-level `name = literal` (or `name: type = literal`) assignments of a script."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            found[target.id] = ast.literal_eval(value)
    if "revision" not in found:
        raise ValueError(f"{path.name}: no `revision = '...'` at the top level")
    return found


def _revision_set(value: object) -> frozenset[str]:
    # None for the first script, a string, or a tuple of strings for a merge.
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(str(item) for item in value)  # type: ignore[attr-defined]
