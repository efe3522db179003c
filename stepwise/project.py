"""The folders of one site project: its own, and its theme's."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from .config import CONFIG_NAME
from .errors import display_path
from .theme import Theme, quick_chain


@dataclass(frozen=True)
class Project:
    """Where a site's inputs live.

    Attributes:
        root: the project folder, holding ``site.yaml``.
        content: the pages.
        templates, static: the site's own templates and static files (either may not
            exist); each file overrides the theme's file of the same relative path.
        themes: the theme ``site.yaml`` names and the themes it extends, in lookup
            order (see :mod:`stepwise.theme`).
    """

    root: Path
    content: Path
    templates: Path
    static: Path
    themes: tuple[Theme, ...] = ()

    @classmethod
    def at(cls, root: Path, content: Path | None = None) -> Project:
        """The standard layout under ``root`` (``content`` may live elsewhere), with the
        theme ``site.yaml`` names (read quickly: :meth:`with_themes` sets the theme the
        build's validated configuration names)."""
        return cls(root, content or root / "content", root / "templates", root / "static",
                   quick_chain(root, CONFIG_NAME))

    def with_themes(self, themes: tuple[Theme, ...]) -> Project:
        """This project with another theme chain."""
        return self if themes == self.themes else dataclasses.replace(self, themes=themes)

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def template_dirs(self) -> list[Path]:
        """The folders a template is looked up in, first match wins: the site's own
        ``templates/`` (when it exists), then each theme's."""
        own = [self.templates] if self.templates.is_dir() else []
        return own + [t.templates for t in self.themes if t.templates.is_dir()]

    @property
    def static_dirs(self) -> list[Path]:
        """The folders a static file is looked up in, first match wins: the site's own
        ``static/`` (when it exists), then each theme's."""
        own = [self.static] if self.static.is_dir() else []
        return own + [t.static for t in self.themes if t.static.is_dir()]

    @property
    def theme_files(self) -> list[Path]:
        """The themes' ``theme.yaml`` files (their strings are part of the site's)."""
        return [t.file for t in self.themes if t.file.is_file()]

    def static_files(self) -> dict[str, Path]:
        """Every static file of the site, by its path under ``static/`` (POSIX), from
        the folder that wins for it; hidden files and folders are skipped."""
        found: dict[str, Path] = {}
        for folder in reversed(self.static_dirs):
            for path in sorted(folder.rglob("*")):
                inside = path.relative_to(folder)
                if path.is_file() and not any(p.startswith(".") for p in inside.parts):
                    found[inside.as_posix()] = path
        return dict(sorted(found.items()))

    def static_name(self, path: Path) -> str:
        """The path under ``static/`` of a file of one of :attr:`static_dirs`."""
        for folder in self.static_dirs + [self.static]:
            if path.is_relative_to(folder):
                return path.relative_to(folder).as_posix()
        raise ValueError(f"{path} is in no static folder")

    def template_name(self, path: Path) -> str:
        """The template name (``partials/footer.html``) of a file of one of
        :attr:`template_dirs`."""
        for folder in self.template_dirs + [self.templates]:
            if path.is_relative_to(folder):
                return path.relative_to(folder).as_posix()
        raise ValueError(f"{path} is in no templates folder")

    def describe(self) -> list[str]:
        """What ``--verbose`` prints about the project: its theme chain, each theme with
        its folder, and the site's own files that override a theme's."""
        lines = [f"theme {t.name}: {display_path(t.folder)}" for t in self.themes]
        for own, theirs in ((self.templates, self.template_dirs),
                            (self.static, self.static_dirs)):
            if not own.is_dir():
                continue
            for path in sorted(own.rglob("*")):
                rel = path.relative_to(own)
                if path.is_file() and any((d / rel).is_file() for d in theirs if d != own):
                    lines.append(f"{display_path(path)} overrides the theme's "
                                 f"{own.name}/{rel.as_posix()}")
        return lines
