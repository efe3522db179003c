"""Themes: a bare site builds with the packaged theme and its strings; a site's own
templates/ and static/ override the theme's files by path; another installed theme
(an entry point of the group stepwise.themes) can be chosen and extend the default;
base_url decides the sitemap, the 404 page and the canonical links."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from stepwise import theme as themes
from stepwise.build import build_site
from stepwise.errors import ErrorList
from stepwise.project import Project
from stepwise.site import SiteBuild

from .conftest import THEME, published


def bare_site(root: Path, config: str = "title: Bare\n", pages: dict[str, str] | None = None
              ) -> Path:
    """A site of only site.yaml and content/ (no templates/, no static/)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "site.yaml").write_text(config, encoding="utf-8")
    for rel, text in (pages or {
        "_index.md": "---\ntitle: Home\n---\nSee [[hello]].\n",
        "hello.md": "---\ntitle: Hello\n---\nHi.\n",
    }).items():
        (root / "content" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "content" / rel).write_text(text, encoding="utf-8")
    return root


def test_a_bare_site_builds_with_the_packaged_theme_and_its_strings(tmp_path, monkeypatch):
    root = bare_site(tmp_path / "bare")
    monkeypatch.chdir(root)
    result = build_site(root, search=False)
    out = root / "site"
    page = (out / "hello/index.html").read_text(encoding="utf-8")
    assert '<a class="skip-link" href="#main">Skip to content</a>' in page  # theme.yaml
    assert published(out, "static/css/site.css").read_bytes() == \
        (THEME / "static/css/site.css").read_bytes()
    assert published(out, "static/js/player.js").is_file()
    # no base_url: a warning saying what is missing and how to give it; nothing that
    # would need it is written with a bare "/" instead
    assert result.warnings == [
        "site.yaml: no 'base_url': sitemap.xml, feed.xml and 404.html are not written and "
        "pages have no canonical link, og:url nor social card (they need the address the "
        "site is published at); add 'base_url: https://example.org/' (with the sub-path the "
        "site is under, if any) or build with --base-url URL"]
    for name in ("sitemap.xml", "404.html", "feed.xml", "static/cards"):
        assert not (out / name).exists()
    assert 'rel="canonical"' not in page and "og:url" not in page and "og:image" not in page
    assert 'rel="alternate"' not in page
    assert 'href="/' not in page and 'src="/' not in page


def test_base_url_fills_the_sitemap_404_and_canonical_links_never_a_bare_slash(tmp_path,
                                                                              monkeypatch):
    root = bare_site(tmp_path / "s", "title: S\nbase_url: https://example.org/docs\n")
    monkeypatch.chdir(root)
    assert build_site(root, search=False).warnings == []
    out = root / "site"
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://example.org/docs/hello/</loc>" in sitemap
    assert "<loc>/" not in sitemap
    missing = (out / "404.html").read_text(encoding="utf-8")
    css = published(out, "static/css/site.css").name
    assert f'href="https://example.org/docs/static/css/{css}"' in missing
    assert 'href="/' not in missing
    # a site without a drop-down menu: the 404 page offers its front page
    assert '<li><a href="https://example.org/docs/">Home</a></li>' in missing
    assert '<link rel="canonical" href="https://example.org/docs/hello/">' in \
        (out / "hello/index.html").read_text(encoding="utf-8")


def test_a_path_base_url_keeps_the_404_page_and_drops_the_sitemap_with_a_warning(tmp_path,
                                                                                monkeypatch):
    root = bare_site(tmp_path / "p", "title: P\nbase_url: /docs/\n")
    monkeypatch.chdir(root)
    result = build_site(root, search=False)
    assert result.warnings == [
        "site.yaml:2: base_url '/docs/' is only a path: sitemap.xml and feed.xml are not "
        "written and pages have no og:url nor social card (they need full URLs); give the "
        "whole address, e.g. https://example.org/docs/"]
    assert not (root / "site/sitemap.xml").exists() and not (root / "site/feed.xml").exists()
    css = published(root / "site", "static/css/site.css").name
    assert f'href="/docs/static/css/{css}"' in (root / "site/404.html").read_text("utf-8")


def test_base_url_given_on_the_command_line_wins(tmp_path, monkeypatch):
    root = bare_site(tmp_path / "c", "title: C\nbase_url: https://example.org/\n")
    monkeypatch.chdir(root)
    result = build_site(root, search=False, base_url="https://me.github.io/c/")
    assert result.warnings == []
    assert "<loc>https://me.github.io/c/hello/</loc>" in (root / "site/sitemap.xml").read_text()
    # another base_url is another build, not "up to date"
    assert not build_site(root, search=False).unchanged
    # a path-only --base-url is blamed on the flag, not on site.yaml's line
    result = build_site(root, search=False, base_url="/c/")
    assert result.warnings == [
        "command line: --base-url '/c/' is only a path: sitemap.xml and feed.xml are not "
        "written and pages have no og:url nor social card (they need full URLs); give the "
        "whole address, e.g. https://example.org/c/"]


def test_a_sites_own_files_override_the_themes_by_path(tmp_path, monkeypatch):
    root = bare_site(tmp_path / "o")
    monkeypatch.chdir(root)
    footer = root / "templates/partials/footer.html"
    footer.parent.mkdir(parents=True)
    footer.write_text('<footer class="mine">{{ site.title }}: {{ ui.footer_nav }}</footer>\n')
    (root / "static/css").mkdir(parents=True)
    (root / "static/css/site.css").write_text("body{color:teal}\n")
    (root / "static/extra.txt").write_text("mine\n")
    build_site(root, search=False)
    page = (root / "site/hello/index.html").read_text(encoding="utf-8")
    assert '<footer class="mine">Bare: Footer</footer>' in page
    assert 'class="site-header"' in page  # the theme's header still
    out = root / "site"
    assert published(out, "static/css/site.css").read_text() == "body{color:teal}\n"
    assert published(out, "static/css/player.css").read_bytes() == \
        (THEME / "static/css/player.css").read_bytes()
    assert published(out, "static/extra.txt").read_text() == "mine\n"
    assert Project.at(root).describe()[1:] == [
        "templates/partials/footer.html overrides the theme's templates/partials/footer.html",
        "static/css/site.css overrides the theme's static/css/site.css"]


def test_adding_and_removing_an_override_while_serving_equals_a_clean_build(tmp_path,
                                                                            monkeypatch):
    root = bare_site(tmp_path / "i")
    monkeypatch.chdir(root)
    build = SiteBuild(Project.at(root))
    build.full()
    theirs = build.outputs["hello/index.html"]
    footer = root / "templates/partials/footer.html"
    footer.parent.mkdir(parents=True)
    footer.write_text("<footer>own</footer>\n")
    (root / "static").mkdir()
    (root / "static/site.txt").write_text("x")
    result = build.update()
    assert b"<footer>own</footer>" in build.outputs["hello/index.html"]
    assert "site.txt" in result.static_changed
    footer.write_text("<footer>own, edited</footer>\n")
    build.update()
    assert b"<footer>own, edited</footer>" in build.outputs["hello/index.html"]
    footer.unlink()
    build.update()
    assert build.outputs["hello/index.html"] == theirs


def test_strings_come_from_the_theme_then_the_site_then_the_page(tmp_path, monkeypatch):
    root = bare_site(tmp_path / "w", "title: W\nstrings:\n  ui:\n    skip: Aller au contenu\n",
                     {"_index.md": "---\ntitle: Home\n---\n",
                      "a.md": "---\ntitle: A\nstrings:\n  ui:\n    skip: Zum Inhalt\n---\n",
                      "b.md": "---\ntitle: B\n---\n"})
    monkeypatch.chdir(root)
    build_site(root, search=False)
    a = (root / "site/a/index.html").read_text("utf-8")
    b = (root / "site/b/index.html").read_text("utf-8")
    assert ">Zum Inhalt</a>" in a and ">Aller au contenu</a>" in b
    assert 'aria-label="Main menu"' in b  # the theme's, not overridden


def test_a_string_nobody_defines_names_itself_and_where_to_add_it(tmp_path, monkeypatch):
    root = bare_site(tmp_path / "m")
    monkeypatch.chdir(root)
    footer = root / "templates/partials/footer.html"
    footer.parent.mkdir(parents=True)
    footer.write_text("<footer>\n{{ ui.licence }}\n</footer>\n")
    with pytest.raises(ErrorList) as info:
        build_site(root, search=False)
    first = str(info.value.errors[0])
    assert first.startswith(
        "templates/partials/footer.html:2: UndefinedError: no UI string 'ui.licence': "
        "neither site.yaml nor the theme defines it; add it to site.yaml under strings: ui: "
        "licence: (rendering content/")


# ---- another installed theme ---------------------------------------------------------


@pytest.fixture
def installed_theme(tmp_path, monkeypatch):
    """``install(name, files, extends)``: a theme package on sys.path with its
    entry point, as pip would install it."""
    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    monkeypatch.syspath_prepend(str(site_packages))

    def install(name: str, files: dict[str, str], theme_yaml: str = "") -> Path:
        package = site_packages / f"{name}_theme"
        for rel, text in {"__init__.py": "", **files}.items():
            (package / rel).parent.mkdir(parents=True, exist_ok=True)
            (package / rel).write_text(textwrap.dedent(text), encoding="utf-8")
        if theme_yaml:
            (package / "theme.yaml").write_text(textwrap.dedent(theme_yaml), encoding="utf-8")
        info = site_packages / f"{name}_theme-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-theme\n"
                                       "Version: 1.0\n")
        (info / "entry_points.txt").write_text(
            f"[{themes.GROUP}]\n{name} = {name}_theme\n")
        themes._registered.cache_clear()
        sys.modules.pop(f"{name}_theme", None)
        return package

    yield install
    themes._registered.cache_clear()


def test_a_site_chooses_an_installed_theme_that_extends_the_default(tmp_path, monkeypatch,
                                                                    installed_theme):
    package = installed_theme("paper", {
        "templates/partials/footer.html": "<footer class=paper>{{ ui.paper_note }}</footer>\n",
        "static/css/site.css": "body{font-family:serif}\n",
    }, """\
        extends: default
        strings:
          ui:
            paper_note: Printed on paper
            skip: Skip
    """)
    assert "paper" in themes.names()
    root = bare_site(tmp_path / "t", "title: T\nbase_url: https://t.example/\ntheme: paper\n")
    monkeypatch.chdir(root)
    build_site(root, search=False)
    page = (root / "site/hello/index.html").read_text("utf-8")
    assert "<footer class=paper>Printed on paper</footer>" in page
    assert ">Skip</a>" in page  # the theme's string over the default theme's
    assert 'aria-label="Main menu"' in page  # the default theme's string
    out = root / "site"
    assert published(out, "static/css/site.css").read_text() == "body{font-family:serif}\n"
    assert published(out, "static/js/site.js").is_file()  # from the default theme
    # the site's own file wins over both
    (root / "templates/partials").mkdir(parents=True)
    (root / "templates/partials/footer.html").write_text("<footer>site</footer>\n")
    build_site(root, search=False)
    assert "<footer>site</footer>" in (root / "site/hello/index.html").read_text("utf-8")
    # a change to the theme's files is a change of the site's inputs (the build cache)
    (package / "static/css/site.css").write_text("body{font-family:sans-serif}\n")
    assert not build_site(root, search=False).unchanged
    assert "sans-serif" in published(out, "static/css/site.css").read_text()


def test_an_unknown_theme_is_located_with_the_closest_name(tmp_path, monkeypatch,
                                                           installed_theme):
    installed_theme("paper", {"templates/layouts/page.html": "x"})
    root = bare_site(tmp_path / "u", "title: U\nbase_url: /\ntheme: papr\n")
    monkeypatch.chdir(root)
    with pytest.raises(ErrorList) as info:
        build_site(root, search=False)
    assert [str(e) for e in info.value] == [
        "site.yaml:3: unknown theme 'papr'; did you mean 'paper'? installed themes: "
        "default, paper. A theme is a Python package registered under the entry point group "
        "'stepwise.themes': install it with pip into the environment stepwise runs in"]


def test_themes_that_extend_each_other_in_a_loop_are_refused(tmp_path, monkeypatch,
                                                             installed_theme):
    installed_theme("a", {"templates/base.html": ""}, "extends: b\n")
    installed_theme("b", {"templates/base.html": ""}, "extends: a\n")
    root = bare_site(tmp_path / "l", "title: L\nbase_url: /\ntheme: a\n")
    monkeypatch.chdir(root)
    with pytest.raises(ErrorList) as info:
        build_site(root, search=False)
    (error,) = [str(e) for e in info.value]
    assert error.endswith("b_theme/theme.yaml: themes extend each other in a loop (a -> b -> "
                          "a); a theme's 'extends:' must lead to a theme that extends none")


def test_a_wrong_theme_yaml_is_located(tmp_path, monkeypatch, installed_theme):
    installed_theme("bad", {"templates/base.html": ""}, "extends: default\nstrings: [x]\n")
    root = bare_site(tmp_path / "b", "title: B\nbase_url: /\ntheme: bad\n")
    monkeypatch.chdir(root)
    with pytest.raises(ErrorList) as info:
        build_site(root, search=False)
    (error,) = [str(e) for e in info.value]
    assert error.endswith("bad_theme/theme.yaml:2: 'strings' must map groups to {key: text} "
                          "mappings")


def test_every_string_the_default_theme_uses_is_in_its_theme_yaml(tmp_path, monkeypatch):
    """A bare site renders every layout: a template that reads a string theme.yaml lacks
    would fail (StrictUndefined)."""
    pages = {"_index.md": "---\ntitle: Home\n---\n",
             "s/_index.md": "---\ntitle: S\n---\n",
             "s/a.md": "---\ntitle: A\nlayout: article\ntags: [x]\nrelated: [b]\n---\n## H\n",
             "s/b.md": "---\ntitle: B\nlayout: lab\n---\n[[a]]\n",
             "s/c.md": "---\ntitle: C\nlayout: page\n---\n",
             "s/l.md": ("---\ntitle: L\nlayout: lesson\nsimulation:\n  model: tcp\n"
                        "  client: {name: c, ip: 10.0.0.1}\n"
                        "  server: {name: s, ip: 10.0.0.2, port: 80}\n"
                        "steps:\n  - {title: listen, do: [server listen]}\n---\n")}
    root = bare_site(tmp_path / "all", "title: All\nbase_url: https://all.example/\n", pages)
    monkeypatch.chdir(root)
    build_site(root, search=False)
    assert (root / "site/s/l/index.html").is_file() and (root / "site/tags/x/index.html")
