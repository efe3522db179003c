"""The benchmark site (bench/corpus.py) converted for MkDocs and for Hugo.

    python bench/convert.py mkdocs PROJECT OUT_DIR
    python bench/convert.py hugo PROJECT OUT_DIR

PROJECT is a stepwise project (site.yaml, content/). Both conversions keep every page,
its frontmatter and its Markdown; wiki-links become ordinary Markdown links to the
target (labelled with its title, as stepwise does), and the navigation is the same
tree: the top menu (tutorials, pricing, about), each tutorial's sections, and a
section's pages in their ``order``.

- MkDocs: ``docs/`` (``_index.md`` becomes ``index.md``; links point at the target's
  ``.md`` file, which MkDocs checks and rewrites) and ``mkdocs.yml`` with the default
  theme (``mkdocs``) and an explicit ``nav`` of every page.
- Hugo: ``content/`` (``_index.md`` is already Hugo's section page; ``order`` becomes
  ``weight``, plus one since Hugo sorts weight 0 last; ``layout`` is renamed so that
  Hugo does not look for a layout of that name), ``hugo.toml`` with the menus, and the
  minimal templates of ``bench/hugo_layouts/``: a ``baseof.html`` with the header and
  menu, the current tutorial's sidebar (its sections, and the current section's pages),
  a breadcrumb and the footer, a ``single.html`` (title, tags, contents, body,
  previous/next) and a ``list.html`` (sections, home, tags). Code blocks are
  highlighted by Hugo (Chroma), as stepwise highlights them with Pygments.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

WIKILINK = re.compile(r"\[\[([^\]|#\\]+)(#[^\]|\\]*)?(?:(?:\\?\|)([^\]]*))?\]\]")
FENCE = re.compile(r"^(```|~~~)")
HUGO_LAYOUTS = Path(__file__).resolve().parent / "hugo_layouts"


@dataclass
class Source:
    """One page of the stepwise project."""

    rel: PurePosixPath  # path under content/, e.g. linux/how/p00003.md
    meta: dict[str, object]
    head: str  # the frontmatter's YAML text
    body: str

    @property
    def is_index(self) -> bool:
        return self.rel.name == "_index.md"

    @property
    def url_parts(self) -> tuple[str, ...]:
        """``('linux', 'how', 'p00003')``; a section's own folder for ``_index.md``."""
        parts = self.rel.with_suffix("").parts
        return parts[:-1] if self.is_index else parts

    @property
    def title(self) -> str:
        return str(self.meta.get("title", self.rel.stem))

    @property
    def order(self) -> int:
        value = self.meta.get("order", 0)
        return value if isinstance(value, int) else 0


def split(text: str) -> tuple[str, str]:
    """``(frontmatter YAML, body)`` of a page."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end >= 0:
            return text[4:end + 1], text[end + 5:]
    return "", text


def load(project: Path) -> list[Source]:
    """Every page of ``project/content``, sorted by path."""
    content = project / "content"
    pages = []
    for path in sorted(content.rglob("*.md")):
        head, body = split(path.read_text(encoding="utf-8"))
        meta = yaml.safe_load(head) or {} if head else {}
        pages.append(Source(PurePosixPath(path.relative_to(content).as_posix()), meta, head,
                            body))
    return pages


class Resolver:
    """Finds a wiki-link's target: by slug, or by the end of its path (``kb/port``)."""

    def __init__(self, pages: list[Source]):
        self.by_suffix: dict[str, Source] = {}
        for page in pages:
            parts = page.url_parts or ("home",)
            for i in range(len(parts)):
                self.by_suffix.setdefault("/".join(parts[i:]), page)

    def __call__(self, target: str) -> Source:
        return self.by_suffix[target.strip().strip("/")]


def convert_links(body: str, link: Callable[[re.Match[str]], str]) -> str:
    """``body`` with every wiki-link outside code replaced by ``link(match)``."""
    out, fenced = [], False
    for line in body.splitlines(keepends=True):
        if FENCE.match(line):
            fenced = not fenced
        if fenced or "[[" not in line:
            out.append(line)
            continue
        pieces = line.split("`")  # inline code (odd pieces) stays literal
        pieces[::2] = [WIKILINK.sub(link, piece) for piece in pieces[::2]]
        out.append("`".join(pieces))
    return "".join(out)


def md_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def relative(from_dir: PurePosixPath, to: PurePosixPath) -> str:
    return os.path.relpath(to.as_posix(), from_dir.as_posix() or ".")


def tree(pages: list[Source]) -> dict[tuple[str, ...], list[Source]]:
    """Each folder's pages (``_index.md`` excluded), in order then title."""
    children: dict[tuple[str, ...], list[Source]] = {}
    for page in pages:
        if not page.is_index:
            children.setdefault(page.rel.parent.parts, []).append(page)
    for items in children.values():
        items.sort(key=lambda p: (p.order, p.title))
    return children


def sections(pages: list[Source], parent: tuple[str, ...]) -> list[Source]:
    """The section pages (``_index.md``) directly under folder ``parent``, in order."""
    found = [p for p in pages if p.is_index and p.rel.parent.parts[:-1] == parent
             and len(p.rel.parent.parts) == len(parent) + 1]
    return sorted(found, key=lambda p: (p.order, p.title))


def site_config(project: Path) -> dict[str, object]:
    return yaml.safe_load((project / "site.yaml").read_text(encoding="utf-8")) or {}


# -- MkDocs ---------------------------------------------------------------------------


def mkdocs_path(page: Source) -> PurePosixPath:
    return page.rel.with_name("index.md") if page.is_index else page.rel


def to_mkdocs(project: Path, out: Path) -> Path:
    """Write the MkDocs project for ``project`` to ``out`` (replaced)."""
    pages = load(project)
    resolve = Resolver(pages)
    if out.exists():
        shutil.rmtree(out)
    docs = out / "docs"
    for page in pages:
        here = mkdocs_path(page)

        def link(m: re.Match[str], here: PurePosixPath = here) -> str:
            target = resolve(m.group(1))
            href = relative(here.parent, mkdocs_path(target)) + (m.group(2) or "")
            return f"[{md_label(m.group(3) or target.title)}]({href})"

        dest = docs / here
        dest.parent.mkdir(parents=True, exist_ok=True)
        body = convert_links(page.body, link)
        dest.write_text(f"---\n{page.head}---\n{body}" if page.head else body, encoding="utf-8")

    children = tree(pages)

    def nav(folder: tuple[str, ...]) -> list[object]:
        entries: list[object] = []
        for section in sections(pages, folder):
            sub = section.rel.parent.parts
            entries.append({section.title: [str(mkdocs_path(section)), *nav(sub)]})
        entries += [{p.title: str(mkdocs_path(p))} for p in children.get(folder, [])]
        return entries

    home = next(p for p in pages if p.rel == PurePosixPath("_index.md"))
    top = nav(())
    tutorials = [e for e in top if isinstance(e, dict) and isinstance(next(iter(e.values())),
                                                                       list)]
    others = [e for e in top if e not in tutorials]
    config = site_config(project)
    mkdocs = {
        "site_name": config.get("title", "site"),
        "site_url": config.get("base_url", ""),
        "site_description": config.get("description", ""),
        "copyright": config.get("copyright", ""),
        "theme": {"name": "mkdocs"},
        "nav": [{home.title: "index.md"}, {"Tutorials": tutorials}, *others],
    }
    (out / "mkdocs.yml").write_text(yaml.safe_dump(mkdocs, sort_keys=False, allow_unicode=True),
                                    encoding="utf-8")
    return out


# -- Hugo -----------------------------------------------------------------------------


def hugo_url(page: Source) -> PurePosixPath:
    return PurePosixPath("/", *page.url_parts)


def to_hugo(project: Path, out: Path) -> Path:
    """Write the Hugo project for ``project`` to ``out`` (replaced)."""
    pages = load(project)
    resolve = Resolver(pages)
    if out.exists():
        shutil.rmtree(out)
    for page in pages:
        here = hugo_url(page)

        def link(m: re.Match[str], here: PurePosixPath = here) -> str:
            target = resolve(m.group(1))
            href = relative(here, hugo_url(target)).rstrip("/") + "/"
            return f"[{md_label(m.group(3) or target.title)}]({href}{m.group(2) or ''})"

        # Hugo sorts weight 0 as "no weight", after the others: order 0 is weight 1
        head = re.sub(r"^order: *(-?\d+) *$", lambda m: f"weight: {int(m.group(1)) + 1}",
                      page.head, flags=re.M)
        head = re.sub(r"^layout:", "stepwise_layout:", head, flags=re.M)
        dest = out / "content" / page.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(f"---\n{head}---\n{convert_links(page.body, link)}", encoding="utf-8")

    config = site_config(project)
    by_slug = Resolver(pages)

    def menu_entries(name: str, items: list[dict[str, object]], parent: str = "") -> list[str]:
        lines = []
        for weight, item in enumerate(items, 1):
            entry = [f"[[menus.{name}]]", f"weight = {weight}"]
            if parent:
                entry.append(f'parent = "{parent}"')
            target = by_slug(str(item["page"])) if "page" in item else None
            title = str(item.get("title") or (target.title if target else ""))
            entry.append(f'name = "{title}"')
            ident = f"{name}-{parent}-{weight}"
            entry.append(f'identifier = "{ident}"')
            if target:
                entry.append(f'pageRef = "{hugo_url(target)}"')
            lines.append("\n".join(entry))
            children = item.get("children")
            if isinstance(children, list):
                lines += menu_entries(name, children, ident)
        return lines

    toml = [
        f'baseURL = "{config.get("base_url", "https://example.org/")}"',
        f'title = "{config.get("title", "site")}"',
        f'languageCode = "{config.get("language", "en")}"',
        f'copyright = "{config.get("copyright", "")}"',
        'disableKinds = ["rss"]',  # stepwise writes no feeds
        "[taxonomies]", 'tag = "tags"',
        "[markup.goldmark.renderer]", "unsafe = false",
        "[markup.tableOfContents]", "startLevel = 2", "endLevel = 3",
        *menu_entries("main", list(config.get("menu") or [])),  # type: ignore[arg-type]
        *menu_entries("footer", list(config.get("footer") or [])),  # type: ignore[arg-type]
    ]
    (out / "hugo.toml").write_text("\n".join(toml) + "\n", encoding="utf-8")
    shutil.copytree(HUGO_LAYOUTS, out / "layouts")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tool", choices=["mkdocs", "hugo"])
    parser.add_argument("project", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    (to_mkdocs if args.tool == "mkdocs" else to_hugo)(args.project, args.out)
    print(f"wrote the {args.tool} project to {args.out}")


if __name__ == "__main__":
    main()
