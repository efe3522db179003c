"""Themes: the templates, static files and UI strings a site is rendered with.

A theme is a folder holding ``templates/`` (Jinja: ``base.html``, ``layouts/``,
``partials/``, ``404.html``...), ``static/`` (copied into the output's ``static/``) and
``theme.yaml``: the theme's UI strings (every word its templates and scripts show) and,
optionally, the theme it ``extends``. stepwise ships one, ``default``
(``stepwise/themes/default/``). Any other is an installed Python package registered
under the entry point group ``stepwise.themes`` (in its pyproject.toml:
``[project.entry-points."stepwise.themes"] paper = "paper_theme"``; the theme's folder
is that package's folder), which a site chooses in ``site.yaml``: ``theme: paper``.

A template, a static file and a UI string are each looked up by name, first in the
site's own ``templates/``, ``static/`` and ``site.yaml`` ``strings:``, then in the theme,
then in the theme it extends, and so on (MkDocs' ``custom_dir`` and Hugo's project-then-
theme order work the same way). So a site overrides one partial by writing
``templates/partials/footer.html``, one stylesheet by ``static/css/site.css``, one word
by ``strings: {ui: {skip: ...}}``, and inherits the rest.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from importlib import util
from pathlib import Path
from typing import Any

import yaml

from .errors import BuildError, ConfigError, display_path
from .yamlsource import duplicate_keys, parse_yaml, yaml_error_line, yaml_error_message

#: The entry point group themes register in.
GROUP = "stepwise.themes"
#: The theme of a site that names none.
DEFAULT = "default"
#: The file of a theme's folder that holds its strings and what it extends.
THEME_FILE = "theme.yaml"
#: The folder of the theme shipped in this package.
BUILTIN = Path(__file__).resolve().parent / "themes" / DEFAULT
#: How deep ``extends:`` may chain (a loop is reported before this).
MAX_DEPTH = 8

_KNOWN_KEYS = ("extends", "strings")


class ThemeError(ConfigError):
    """A theme cannot be found, or its ``theme.yaml`` is wrong."""


@dataclass(frozen=True)
class Theme:
    """One theme, as found on disk.

    Attributes:
        name: the name a site gives in ``theme:``.
        folder: the theme's folder (``templates/``, ``static/``, ``theme.yaml``).
        extends: the name of the theme it falls back to, or None.
        strings: its UI strings by group, e.g. ``strings["ui"]["skip"]``.
    """

    name: str
    folder: Path
    extends: str | None = None
    strings: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def templates(self) -> Path:
        """The theme's Jinja templates."""
        return self.folder / "templates"

    @property
    def static(self) -> Path:
        """The theme's static files (copied to the output's ``static/``)."""
        return self.folder / "static"

    @property
    def file(self) -> Path:
        """Its ``theme.yaml``."""
        return self.folder / THEME_FILE


@functools.cache
def _registered() -> dict[str, str]:
    """Theme name -> the importable package of its folder, as installed."""
    from importlib.metadata import entry_points  # 12 ms: only for a theme not built in

    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def names() -> list[str]:
    """The names of the themes installed (``default`` always), sorted."""
    return sorted({DEFAULT, *_registered()})


def theme_folder(name: str) -> Path:
    """The folder of the installed theme ``name``.

    Raises:
        ThemeError: no theme has that name, or its package cannot be found.
    """
    if name == DEFAULT:
        return BUILTIN
    module = _registered().get(name)
    if module is None:
        close = difflib.get_close_matches(name, names(), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ThemeError(
            f"unknown theme '{name}'; {hint}installed themes: {', '.join(names())}. "
            f"A theme is a Python package registered under the entry point group "
            f"'{GROUP}': install it with pip into the environment stepwise runs in")
    try:
        spec = util.find_spec(module.partition(":")[0])
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if spec is not None and not locations and spec.origin:
        locations = [str(Path(spec.origin).parent)]
    if not locations:
        raise ThemeError(f"theme '{name}' is registered as the package '{module}', which "
                         "cannot be found; reinstall the theme's package")
    return Path(locations[0])


def load_theme(name: str) -> Theme:
    """Read the theme ``name``: its folder and its ``theme.yaml`` (optional).

    Raises:
        ThemeError: unknown theme, or a wrong ``theme.yaml`` (located at its line).
    """
    folder = theme_folder(name)
    path = folder / THEME_FILE
    if not folder.is_dir() or not ((folder / "templates").is_dir() or path.is_file()):
        raise ThemeError(f"theme '{name}': {display_path(folder)} holds no templates/ "
                         f"nor {THEME_FILE}; reinstall the theme's package")
    if not path.is_file():
        return Theme(name, folder)
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        doc = parse_yaml(text)
    except UnicodeDecodeError as err:
        raise ThemeError(f"not valid UTF-8 at byte {err.start}", shown) from None
    except OSError as err:
        raise ThemeError(f"cannot be read: {err.strerror}; reinstall the theme's package",
                         shown) from None
    except yaml.YAMLError as err:
        raise ThemeError(f"malformed YAML: {yaml_error_message(err, text)}", shown,
                         yaml_error_line(err, 1, text)) from None
    for key, _first, second in duplicate_keys(doc.node):
        raise ThemeError(f"duplicate key '{key}'; keep one of them", shown, second + 1)
    data: Any = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ThemeError("must be a YAML mapping (extends:, strings:)", shown, 1)
    for key in data:
        if key not in _KNOWN_KEYS:
            raise ThemeError(f"unknown key '{key}'; known keys: {', '.join(_KNOWN_KEYS)}",
                             shown, doc.line_of((key,)))
    extends = data.get("extends")
    if extends is not None and not isinstance(extends, str):
        raise ThemeError("'extends' must be the name of a theme", shown,
                         doc.line_of(("extends",)))
    strings = data.get("strings") or {}
    if not isinstance(strings, dict) or not all(
            isinstance(group, dict) and all(isinstance(v, str) for v in group.values())
            for group in strings.values()):
        raise ThemeError("'strings' must map groups to {key: text} mappings", shown,
                         doc.line_of(("strings",)))
    return Theme(name, folder, extends,
                 {str(g): {str(k): v for k, v in vals.items()} for g, vals in strings.items()})


def theme_chain(name: str) -> tuple[Theme, ...]:
    """The theme ``name`` followed by the themes it extends, in lookup order.

    Raises:
        ThemeError: a theme is unknown or wrong, or ``extends:`` runs in a loop.
    """
    chain: list[Theme] = []
    current: str | None = name
    while current is not None:
        if any(t.name == current for t in chain) or len(chain) >= MAX_DEPTH:
            path = " -> ".join([t.name for t in chain] + [current])
            raise ThemeError(f"themes extend each other in a loop ({path}); a theme's "
                             f"'extends:' must lead to a theme that extends none",
                             display_path(chain[-1].file))
        try:
            theme = load_theme(current)
        except ThemeError as err:
            if chain and err.path is None:  # name the theme.yaml that asked for it
                raise err.located(display_path(chain[-1].file)) from None
            raise
        chain.append(theme)
        current = theme.extends
    return tuple(chain)


def merged_strings(chain: tuple[Theme, ...], site: dict[str, dict[str, str]]
                   ) -> dict[str, dict[str, str]]:
    """The UI strings a site is rendered with: the themes' (the extended theme's first,
    each overridden by the theme that extends it), then the site's own on top."""
    merged: dict[str, dict[str, str]] = {}
    for layer in [t.strings for t in reversed(chain)] + [site]:
        for group, values in layer.items():
            merged.setdefault(group, {}).update(values)
    return merged


def quick_chain(root: Path, config_name: str = "site.yaml") -> tuple[Theme, ...]:
    """The theme chain ``root/site.yaml`` names, read without validating the rest of
    the file (for the build cache's check, before the build proper reads it); the
    default theme when the file or its theme cannot be read: the build reports that."""
    name = DEFAULT
    try:
        data = yaml.load((root / config_name).read_bytes(),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if isinstance(data, dict) and isinstance(data.get("theme"), str):
            name = data["theme"]
    except (OSError, yaml.YAMLError, UnicodeDecodeError, ValueError):
        pass  # ValueError: a YAML date that is no date (the build reports it)
    for candidate in (name, DEFAULT):
        try:
            return theme_chain(candidate)
        except BuildError:
            continue
    return (Theme(DEFAULT, BUILTIN),)
