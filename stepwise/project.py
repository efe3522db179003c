"""The folders of one site project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import CONFIG_NAME


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
        """The standard layout under ``root`` (``content`` may live elsewhere)."""
        return cls(root, content or root / "content", root / "templates", root / "static")

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME
