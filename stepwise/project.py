"""The folders of one site project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import CONFIG_NAME

#: The theme that ships inside the package: its ``templates/`` and ``static/`` serve a
#: project that has no folder of its own by that name.
DEFAULT_THEME = Path(__file__).resolve().parent / "themes" / "default"


@dataclass(frozen=True)
class Project:
    """Where a site's inputs live.

    Attributes:
        root: the project folder, holding ``site.yaml``.
        content, templates, static: the input folders.
    """

    root: Path
    content: Path
    templates: Path
    static: Path

    @classmethod
    def at(cls, root: Path, content: Path | None = None) -> Project:
        """The standard layout under ``root`` (``content`` may live elsewhere); the
        packaged theme's ``templates/`` and ``static/`` where ``root`` has none."""
        templates, static = root / "templates", root / "static"
        return cls(root, content or root / "content",
                   templates if templates.is_dir() else DEFAULT_THEME / "templates",
                   static if static.is_dir() else DEFAULT_THEME / "static")

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME
