"""Content loading: every ``.md`` under ``content/`` becomes a :class:`Page`.

This stage reads files and checks frontmatter; it knows nothing of Markdown or
templates. Permalinks are pretty: ``content/linux/how/tcp-handshake.md`` is published at
``linux/how/tcp-handshake/index.html`` with the URL ``/linux/how/tcp-handshake/``, and a
section's ``_index.md`` at the section's own URL. The slug is the file's stem (the
folder's name for an ``_index.md``; ``home`` for the site's front page).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .dates import DATE_KEYS, PageDate, parse_date
from .errors import BuildError, FrontmatterError, OutputError, display_path
from .frontmatter import SourceFile, decode_source, split_source
from .yamlsource import YamlDocument, quote_hint

INDEX_STEM = "_index"

#: Frontmatter keys a page may hold, with the type each must have.
KNOWN_KEYS: dict[str, type | tuple[type, ...]] = {
    "title": str,
    "description": str,
    "lead": str,
    "layout": str,
    "order": int,
    "draft": bool,
    "related": list,
    "labs": list,
    "topic": str,
    "tags": list,
    "simulation": dict,
    "steps": list,
    "strings": dict,
    "date": (dt.date, str),
    "updated": (dt.date, str),
    "sort": str,
}

#: How a section's ``sort:`` lists its pages: by ``order`` (then title), newest
#: ``date`` first, or by title.
SORTS = ("order", "date", "title")


@dataclass(eq=False)  # a page is itself: equality and hashing by identity
class Page:
    """One page of the site.

    Attributes:
        source: absolute path of the ``.md`` file.
        rel: its path relative to the content folder, POSIX style.
        shown: the path printed in error messages.
        url: the pretty URL from the site root, e.g. ``/linux/how/tcp-handshake/``.
        slug: the name wiki-links use; ``refpath`` the slash path they can match on
            (``linux/how/tcp-handshake``; empty for the front page).
        is_index: True for a section's ``_index.md``.
        meta: the frontmatter; ``source_file`` the split source (lines, body).
        Later stages fill ``headings``, ``html``, ``lead_html``, ``links_out`` (URLs
            of the pages it links), ``ref_slugs`` (the keys of every
            reference it makes, :func:`stepwise.links.reference_keys`, for
            incremental rebuilds), ``reads`` (other files
            it read: packet captures, images), ``assets`` (the files of the content
            folder it publishes), ``external`` (its http links), ``trace``
            (lessons) and ``simulator`` (a simulator page's settings).
    """

    source: Path
    rel: PurePosixPath
    shown: str
    url: str
    slug: str
    refpath: str
    is_index: bool
    meta: dict[str, Any]
    source_file: SourceFile
    headings: list[tuple[int, str, str]] = field(default_factory=list)
    parsed: bool = False  # headings known
    html: str = ""
    lead_html: str = ""
    links_out: set[str] = field(default_factory=set)
    ref_slugs: set[str] = field(default_factory=set)
    reads: set[Path] = field(default_factory=set)
    #: files of the content folder the page shows or links (images beside it), by
    #: their path in the output folder
    assets: dict[str, Path] = field(default_factory=dict)
    #: the external (http, https) URLs its Markdown links, with their lines
    external: list[tuple[str, int | None]] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)  # frontmatter keys of the wrong type
    trace: dict[str, Any] | None = None
    #: its body's highlighted code blocks, (code, language, HTML): a build that
    #: compiles the page again takes them up (stepwise.markdown.remember)
    highlights: tuple[tuple[str, str, str], ...] = ()
    #: the number of steps of its trace (None: no trace), as listings show it
    steps: int | None = None
    minutes: int | None = None
    #: a simulator page's settings (JSON form)
    simulator: dict[str, Any] | None = None
    #: what compiling it found that does not stop the build
    warnings: list[BuildError] = field(default_factory=list)
    #: ``date:`` and ``updated:``, read (None: not given, or wrong: reported)
    date: PageDate | None = None
    updated: PageDate | None = None
    #: what rendering it wrote (its HTML, a lesson's card) and the static files it
    #: names (``asset()``), as their sources name them: kept for rebuilds
    outputs: tuple[str, ...] = ()
    static_used: frozenset[str] = frozenset()

    @property
    def title(self) -> str:
        return str(self.meta["title"])

    @functools.cached_property
    def name(self) -> str:
        """The page's name as its file spells it (NFC): the file's stem, the folder's
        name for a section's ``_index.md``, ``home`` for the front page."""
        if not self.is_index:
            return spelling(self.rel.stem)
        return spelling(self.rel.parent.name) if self.rel.parent.parts else "home"

    @functools.cached_property
    def keys(self) -> frozenset[str]:
        """The keys a reference can match this page by: its slug, and the
        :func:`name_key` of its file name and of its title (both fixed once loaded)."""
        return frozenset({self.slug, name_key(self.name), name_key(self.title)})

    @functools.cached_property
    def path_keys(self) -> tuple[str, ...]:
        """The :func:`name_key` of each folder and name of :attr:`refpath`."""
        return tuple(name_key(s) for s in self.refpath.split("/")) if self.refpath else ()

    @property
    def seed(self) -> str:
        """What a simulation's ISNs and ports not given are derived from: the page's
        path (its slug for the front page), so a page builds to the same trace."""
        return self.refpath or self.slug

    @property
    def description(self) -> str:
        return str(self.meta.get("description", ""))

    @property
    def layout(self) -> str:
        if self.meta.get("layout"):
            return str(self.meta["layout"])
        if self.url == "/":
            return "home"
        return "section" if self.is_index else "page"

    @property
    def order(self) -> int:
        value = self.meta.get("order", 1000)
        return int(value)

    @property
    def draft(self) -> bool:
        return bool(self.meta.get("draft", False))

    @property
    def output_path(self) -> str:
        """Path of the written file inside the output folder."""
        return self.url.strip("/") + "/index.html" if self.url != "/" else "index.html"

    @functools.cached_property
    def section_url(self) -> str | None:
        """URL of the section this page belongs to (its parent), None for the front page."""
        if self.url == "/":
            return None
        parent = self.url.rstrip("/").rpartition("/")[0]
        return parent + "/" if parent else "/"

    @property
    def lastmod(self) -> PageDate | None:
        """When the page last changed, as its author says: ``updated``, else ``date``."""
        return self.updated or self.date

    @property
    def sort(self) -> str:
        """How this section lists its pages (``sort:``; see :data:`SORTS`)."""
        value = self.meta.get("sort")
        return value if value in SORTS else "order"

    def line_of(self, *keypath: str | int) -> int | None:
        """1-based line of a frontmatter value in the file (see YamlDocument.line_of)."""
        return self.source_file.yaml.line_of(keypath)

    def sort_key(self) -> tuple[int, str, str]:
        """Order inside a section: ``order``, then title, then URL for stability."""
        return (self.order, self.title.casefold(), self.url)


def _slug_text(text: str, keep: str) -> str:
    """``text`` with every character that is not a letter, a digit, a combining mark
    (an accent typed as a separate character, a Devanagari vowel sign) or one of
    ``keep`` replaced by ``-``, runs of ``-`` made one."""
    out = [c if c.isalnum() or c in keep or unicodedata.category(c)[0] == "M" else "-"
           for c in text]
    return re.sub(r"-{2,}", "-", "".join(out))


@functools.lru_cache(maxsize=1 << 16)
def slugify(name: str) -> str:
    """Turn a file or folder name into a URL segment.

    NFC, lowercase, Unicode letters and their accents kept (``Conexión`` typed in NFC
    or NFD gives ``conexión``; ``Сокеты`` stays Cyrillic), runs of spaces and
    punctuation become one ``-``: ``"TCP States (Linux).md"`` stem ->
    ``"tcp-states-linux"``. A name with no letter or digit at all is ``page``.
    """
    slug = _slug_text(unicodedata.normalize("NFC", name).lower(), "_.").strip("-.")
    return slug if any(c.isalnum() for c in slug) else "page"


@functools.lru_cache(maxsize=1 << 16)
def name_key(name: str) -> str:
    """The form page names are compared in: NFC, case-folded, then the slug rule.

    ``[[TCP States]]``, ``[[tcp states]]`` and ``[[tcp-states]]`` all give
    ``tcp-states``, the key of the file ``tcp-states.md`` and of the title "TCP
    states"; ``Straße`` and ``STRASSE`` give one key too. Remembered: every link
    asks for the keys of its target's name, again and again.
    """
    return slugify(unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold()))


def spelling(text: str) -> str:
    """``text`` as its author typed it, less the Unicode normalisation form: NFC and
    outer whitespace removed (an exact match of a name compares these)."""
    return unicodedata.normalize("NFC", text).strip()


@dataclass
class LoadResult:
    """The pages of a build, and the problems found while loading them."""

    pages: list[Page]
    errors: list[BuildError]
    warnings: list[BuildError]


def load_pages(content_dir: Path, *, include_drafts: bool = False) -> LoadResult:
    """Read every ``.md`` file under ``content_dir`` (sorted, hidden files skipped).

    Args:
        content_dir: the content folder.
        include_drafts: unused here (drafts are always loaded, so that a link to one
            gets a precise error); the build decides whether to publish them.

    Returns:
        A :class:`LoadResult`; ``pages`` are sorted by URL. Errors are collected, not
        raised, so that one build reports them all.
    """
    errors: list[BuildError] = []
    warnings: list[BuildError] = []
    pages: list[Page] = []
    if not content_dir.is_dir():
        errors.append(BuildError("content folder not found", display_path(content_dir)))
        return LoadResult([], errors, warnings)
    for path in page_files(content_dir):
        page, page_errors, page_warnings = load_page_file(path, content_dir)
        errors.extend(page_errors)
        warnings.extend(page_warnings)
        if page is not None:
            pages.append(page)
    errors.extend(check_collisions(pages))
    pages.sort(key=lambda p: p.url)
    return LoadResult(pages, errors, warnings)


PAGE_SUFFIXES = (".md", ".markdown")


def page_files(content_dir: Path) -> list[Path]:
    """Every page source under ``content_dir``: ``*.md`` and ``*.markdown`` (any case),
    sorted, hidden ones skipped. Symlinked folders are listed too, so that the loader
    can refuse them with a message instead of skipping them unseen."""
    return [Path(p) for p in page_names(content_dir)]


def page_names(content_dir: Path) -> list[str]:
    """:func:`page_files` as text (a scan compares them without making ``Path``
    objects)."""
    found: list[str] = []
    # os.walk, not Path.rglob: this runs on every rebuild while serving
    for folder, dirs, files in os.walk(content_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(folder, d) for d in dirs
                     if os.path.islink(os.path.join(folder, d)))
        found.extend(os.path.join(folder, f) for f in files
                     if f.lower().endswith(PAGE_SUFFIXES) and not f.startswith("."))
    return sorted(found)


def load_page_file(
    path: Path, content_dir: Path
) -> tuple[Page | None, list[BuildError], list[BuildError]]:
    """Load one page source: ``(page or None, errors, warnings)``.

    A page with frontmatter type errors is still returned (with the wrong values
    dropped) so that links to it resolve and only its own errors are reported.
    """
    rel = PurePosixPath(path.relative_to(content_dir).as_posix())
    shown = display_path(path)
    errors: list[BuildError] = []
    try:
        if path.is_symlink() and path.is_dir():
            raise FrontmatterError("symlinked folder: the content folder's symlinks to "
                                   "folders are not followed; move or copy the folder in", shown)
        if path.is_symlink() and not path.resolve().is_relative_to(content_dir.resolve()):
            raise FrontmatterError(
                "symlink points outside the content folder; copy the file in instead", shown)
        if not path.is_file():
            raise FrontmatterError("not a regular file (a broken symlink, a folder or a pipe "
                                   "named like a page); remove or rename it", shown)
    except BuildError as err:
        return None, [err], []
    try:
        page = _load_page(path, rel, shown)
    except BuildError as err:
        return _stub_page(path, rel, shown), [err], []
    except OSError as err:
        return None, [FrontmatterError(f"cannot read the file: {err.strerror}", shown)], []
    warnings = _check_meta(page, errors)
    return page, errors, warnings


def _load_page(path: Path, rel: PurePosixPath, shown: str) -> Page:
    text = decode_source(path.read_bytes(), shown)
    return _page_at(path, rel, shown, split_source(text, shown))


def _stub_page(path: Path, rel: PurePosixPath, shown: str) -> Page:
    """A page whose source cannot be read as frontmatter + body still exists at its
    permalink: links to it resolve, so its one error is not followed by an "unknown
    wiki-link" (with a wrong suggestion) in every page that links it."""
    page = _page_at(path, rel, shown, SourceFile({}, YamlDocument(None, None, 1), "", 1))
    page.meta["title"] = page.slug
    return page


def _page_at(path: Path, rel: PurePosixPath, shown: str, src: SourceFile) -> Page:
    is_index = rel.stem.lower() == INDEX_STEM
    dir_parts = [slugify(p) for p in rel.parent.parts]
    parts = dir_parts if is_index else [*dir_parts, slugify(rel.stem)]
    url = "/" + "".join(f"{p}/" for p in parts)
    slug = parts[-1] if parts else "home"
    return Page(
        source=path,
        rel=rel,
        shown=shown,
        url=url,
        slug=slug,
        refpath="/".join(parts),
        is_index=is_index,
        meta=dict(src.meta),
        source_file=src,
    )


def _check_meta(page: Page, errors: list[BuildError]) -> list[BuildError]:
    """Check frontmatter types; return warnings for unknown keys."""
    warnings: list[BuildError] = []
    meta = page.meta
    if "title" not in meta:
        errors.append(
            FrontmatterError("missing 'title' in frontmatter; add 'title: ...'", page.shown, 2)
        )
        meta["title"] = page.slug
    for key, value in list(meta.items()):
        expected = KNOWN_KEYS.get(key)
        line = page.line_of(key)
        if expected is None:
            close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            hint = (f"; did you mean '{close[0]}'?" if close
                    else f"; known keys: {', '.join(sorted(KNOWN_KEYS))}")
            warnings.append(FrontmatterError(f"unknown frontmatter key '{key}'{hint}", page.shown,
                                             page.source_file.yaml.key_line(key)))
            continue
        if expected is str and isinstance(value, int | float) and not isinstance(value, bool):
            value = meta[key] = str(value)  # 'title: 1984' is a title, not a number
        # bool is an int subclass; 'order: true' is still a mistake
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if key == "title" and ok and not str(value).strip():
            ok = False
        if key in DATE_KEYS:
            try:
                setattr(page, key, parse_date(value, key))
            except ValueError as err:
                errors.append(FrontmatterError(str(err), page.shown, line))
                page.invalid.add(key)
            continue
        if key == "sort" and ok and value not in SORTS:
            errors.append(FrontmatterError(
                f"'sort' must be one of {', '.join(SORTS)} (got '{value}'), e.g. 'sort: date' "
                "(newest first)", page.shown, line))
            page.invalid.add(key)
            del meta[key]
            continue
        if not ok:
            hint = quote_hint(page.source_file.yaml.scalar_text((key,)), key) \
                if isinstance(value, bool) else ""
            errors.append(FrontmatterError(_type_message(key, value) + hint, page.shown, line))
            page.invalid.add(key)  # reported once, here: later stages skip what needs it
            meta[key] = page.slug if key == "title" else None
            if meta[key] is None:
                del meta[key]
            continue
        if key == "strings":
            for group, values in value.items():
                texts = values if isinstance(values, dict) else {None: values}
                for name, text in texts.items():
                    if not isinstance(text, str):
                        where = f"strings.{group}" + (f".{name}" if name is not None else "")
                        errors.append(FrontmatterError(
                            f"{where} must be " + ("a text (quote it)" if name is not None
                                                    else "a mapping of key: text"),
                            page.shown, page.line_of(key, group, *(() if name is None
                                                                   else (name,)))))
        if key in ("related", "labs", "tags"):
            for i, item in enumerate(value):
                if not isinstance(item, str):
                    hint = quote_hint(page.source_file.yaml.scalar_text((key, i)), "") \
                        if isinstance(item, bool) else ""
                    errors.append(FrontmatterError(
                        f"'{key}' must be a list of strings; item {i + 1} is "
                        f"{type(item).__name__}{hint}", page.shown, page.line_of(key, i)))
    if page.date is not None and page.updated is not None and page.updated < page.date:
        warnings.append(FrontmatterError(
            f"'updated' ({page.updated.iso}) is before 'date' ({page.date.iso}); 'updated' "
            "is when the page last changed, after it was published: swap them or fix one",
            page.shown, page.line_of("updated")))
    if "sort" in meta and not page.is_index:
        warnings.append(FrontmatterError(
            "'sort' orders the pages of a section: it belongs in the section's _index.md "
            "and does nothing here", page.shown, page.source_file.yaml.key_line("sort")))
    return warnings


def _type_message(key: str, value: object) -> str:
    examples = {
        "title": "title: The life cycle of a TCP connection",
        "order": "order: 3",
        "draft": "draft: true",
        "related": "related: [tcp-states, port]",
        "labs": "labs: [intermediate-02-tcp-handshake]",
        "tags": "tags: [tcp, network]",
        "simulation": "simulation: {model: tcp, ...}",
        "steps": "steps: [{title: ..., do: [...]}]",
        "strings": "strings: {player: {play: Play}}",
        "sort": "sort: date",
    }
    expected = KNOWN_KEYS[key]
    name = expected.__name__ if isinstance(expected, type) else "value"
    word = {"str": "a string", "int": "an integer", "bool": "true or false",
            "list": "a list", "dict": "a mapping"}.get(name, name)
    example = examples.get(key, f"{key}: ...")
    got = "empty" if value in ("", None) else type(value).__name__
    return f"'{key}' must be {word} (got {got}), e.g. '{example}'"


def check_collisions(pages: list[Page]) -> list[BuildError]:
    """Two pages on one permalink (or permalinks differing only by case) are errors."""
    errors: list[BuildError] = []
    by_key: dict[str, list[Page]] = {}
    for page in pages:
        by_key.setdefault(page.url.casefold(), []).append(page)
    for group in by_key.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda p: p.shown)
        first = group[0]
        for other in group[1:]:
            same = ("the same permalink" if other.url == first.url
                    else "a permalink that differs only by case from")
            errors.append(OutputError(
                f"{same} {other.url} as {first.shown}; rename one of them",
                other.shown,
            ))
    return errors
