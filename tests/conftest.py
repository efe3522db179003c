"""Shared fixtures: a throw-away project built from the repository's own templates."""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: the packaged default theme (templates/ and static/)
THEME = REPO / "stepwise" / "themes" / "default"

def published(out: Path, name: str) -> Path:
    """The file of the built site ``out`` that the source path ``name``
    (``static/css/site.css``) is published as: ``static/css/site.3f9a1c2e.css``, named
    by its content (stepwise.assets); fails unless there is exactly one."""
    pure = Path(name)
    found = [p for p in (out / pure.parent).glob(f"{pure.stem}.*{pure.suffix}")
             if re.fullmatch(re.escape(pure.stem) + r"\.[0-9a-f]{8}" + re.escape(pure.suffix),
                             p.name)]
    assert len(found) == 1, f"{name} published as {found} in {out}"
    return found[0]


#: A small site: every page the templates' menu needs, plus a tutorial with sections.
BASE_CONTENT: dict[str, str] = {
    "_index.md": "---\ntitle: Home\n---\nWelcome.\n",
    "linux/_index.md": "---\ntitle: Linux\ndescription: Linux things\norder: 1\n---\nIntro.\n",
    "terraform/_index.md": "---\ntitle: Terraform\ndescription: IaC\norder: 2\n---\n",
    "git/_index.md": "---\ntitle: Git\ndescription: VCS\norder: 3\n---\n",
    "pricing.md": "---\ntitle: Pricing\n---\nFree.\n",
    "about.md": "---\ntitle: About\n---\nUs.\n",
    "privacy.md": "---\ntitle: Privacy\n---\nNo cookies.\n",
    "linux/how/_index.md": "---\ntitle: How it works\norder: 2\n---\n",
    "linux/kb/_index.md": "---\ntitle: Knowledge base\norder: 4\n---\n",
    "linux/kb/port.md": (
        "---\ntitle: Port\nlayout: article\ndescription: which ports take part\n---\n"
        "## Port ranges\n\nEphemeral ports.\n"
    ),
    "linux/kb/tcp-states.md": (
        "---\ntitle: TCP states\nlayout: article\ndescription: all 11 states\n---\n"
        "## The 11 states\n\nSee [[port]].\n"
    ),
    "linux/kb/tcp-handshake.md": "---\ntitle: TCP handshake\nlayout: article\n---\nArticle.\n",
    "linux/how/tcp-handshake.md": (
        "---\ntitle: The life cycle\nlayout: lesson\ntopic: network\n"
        "related: [kb/tcp-handshake, tcp-states]\n"
        "simulation:\n  model: tcp\n  client: {name: curl, ip: 10.0.0.5}\n"
        "  server: {name: nginx, ip: 10.0.0.80, port: 443}\n"
        "steps:\n  - {title: nginx listens, do: [server listen]}\n---\n"
        "Intro with [[tcp-states|all states]].\n"
    ),
}


class Project:
    """A project folder in tmp: the repo's site.yaml, templates/ and static/, plus
    content written by the test."""

    def __init__(self, root: Path):
        self.root = root
        self.content = root / "content"
        self.out = root / "site"

    def write(self, rel: str, text: str) -> Path:
        path = self.content / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
        return path

    def build(self, **kwargs: object):  # noqa: ANN201 - returns BuildResult
        from stepwise.build import build_site

        return build_site(self.root, self.out, **kwargs)  # type: ignore[arg-type]

    def page(self, url_path: str) -> str:
        return (self.out / url_path / "index.html").read_text(encoding="utf-8")


@pytest.fixture
def make_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Project]:
    """``make_project(files=None, base=True)``: a project with ``BASE_CONTENT`` plus
    ``files`` (path -> text; a None value removes a base page)."""

    def make(files: dict[str, str | None] | None = None, base: bool = True) -> Project:
        root = tmp_path / "project"
        root.mkdir()
        shutil.copy(REPO / "site.yaml", root / "site.yaml")
        shutil.copytree(THEME / "templates", root / "templates")
        shutil.copytree(THEME / "static", root / "static")
        project = Project(root)
        monkeypatch.chdir(root)  # errors name paths as an author in the project sees them
        merged: dict[str, str | None] = dict(BASE_CONTENT) if base else {}
        merged.update(files or {})
        for rel, text in merged.items():
            if text is not None:
                project.write(rel, text)
        return project

    return make
