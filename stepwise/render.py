"""Templates: the Jinja environment and how its errors become build errors.

Autoescape is on everywhere and undefined variables are errors
(:class:`jinja2.StrictUndefined`), so a typo in a template fails the build instead of
printing nothing. Layouts live in ``templates/layouts/NAME.html``; a page picks one with
``layout:``. Templates are looked up in several folders, first match wins: the site's
own ``templates/``, then its theme's (see :mod:`stepwise.theme`).

UI strings reach templates as :class:`Strings` (``ui.skip``, ``i18n.player.play``): a
string that neither the site nor its theme defines fails with what to add where,
instead of Jinja's "'dict object' has no attribute".
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from markupsafe import Markup

from .errors import TemplateError, display_path

LAYOUT_DIR = "layouts"
#: The folder of the build cache (``.stepwise-cache/``) that keeps compiled templates.
TEMPLATES_CACHE = "templates"


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's cache of compiled templates in a folder, which a build that cannot write
    it (a read-only project) does without, and whose damaged files are compiled
    again (Jinja itself guards only the last step of reading one)."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - unpickling damaged bytes raises anything
            bucket.reset()  # a miss: the template is compiled and the file written anew

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def bytecode_cache(folder: Path) -> jinja2.BytecodeCache | None:
    """Jinja's bytecode cache in ``folder`` (made if missing): a template compiled by
    one build is loaded by the next instead of compiled again (Jinja checks it against
    the template's source). None when the folder cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder.parent / ".gitignore").write_text("*\n", encoding="utf-8")
    except OSError:
        return None
    return _BytecodeCache(str(folder))


class Strings(dict[str, str]):
    """One group of UI strings (``ui``, ``player``, ``simulator``...), as templates read
    them: a plain mapping of key to text that knows its group's name, for the message
    of a missing one."""

    def __init__(self, group: str, values: dict[str, str]):
        super().__init__(values)
        self.group = group


class StringGroups(dict[str, Strings]):
    """Every group of UI strings (the templates' ``i18n``)."""


class _Undefined(jinja2.StrictUndefined):
    """StrictUndefined, whose message names a missing UI string and where to add it."""

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if isinstance(obj, Strings):
            return (f"no UI string '{obj.group}.{name}': neither site.yaml nor the theme "
                    f"defines it; add it to site.yaml under strings: {obj.group}: {name}:")
        if isinstance(obj, StringGroups):
            return (f"no UI string group '{name}': add it to site.yaml under strings: "
                    f"{name}:")
        return str(super()._undefined_message)


def create_environment(templates_dirs: Path | list[Path],
                       bytecode_cache: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """A Jinja environment over ``templates_dirs`` (a template is taken from the first
    folder that has it; autoescape, StrictUndefined). ``bytecode_cache`` keeps the
    compiled templates between builds (Jinja checks each against its source)."""
    folders = [templates_dirs] if isinstance(templates_dirs, Path) else templates_dirs
    env = jinja2.Environment(
        bytecode_cache=bytecode_cache,
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=True,
        undefined=_Undefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # a build's templates do not change under it: the caller makes a new
        # environment when one does (SiteBuild), so Jinja need not stat the file
        # on every include
        auto_reload=False,
    )
    env.filters["script_json"] = script_json
    return env


def known_layouts(templates_dirs: Path | list[Path]) -> list[str]:
    """Names of the layouts in the folders' ``layouts/`` (``lesson`` for
    ``lesson.html``)."""
    folders = [templates_dirs] if isinstance(templates_dirs, Path) else templates_dirs
    return sorted({p.stem for f in folders for p in (f / LAYOUT_DIR).glob("*.html")})


def script_json(value: Any) -> Markup:
    """Serialize ``value`` as JSON safe inside ``<script type="application/json">``.

    ``<``, ``>``, ``&`` and the line separators U+2028/U+2029 are written as ``\\uXXXX``
    escapes, so no string can close the script element or start a comment; the JSON
    parses to the same value. Keys are sorted so builds are byte-identical.
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                      ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, esc)
    return Markup(text)


def _folders(templates_dirs: Path | list[Path]) -> list[Path]:
    return [templates_dirs] if isinstance(templates_dirs, Path) else list(templates_dirs)


def _file_of(name: str, templates_dirs: Path | list[Path]) -> str:
    """Where template ``name`` is (the first folder that has it), else where it was
    looked for first, as an author would type it."""
    folders = _folders(templates_dirs)
    for folder in folders:
        if (folder / name).is_file():
            return display_path(folder / name)
    return display_path((folders[0] if folders else Path("templates")) / name)


def load_template(env: jinja2.Environment, name: str,
                  templates_dirs: Path | list[Path]) -> jinja2.Template:
    """Load (and compile) a template from the first of ``templates_dirs`` that has it.

    Raises:
        TemplateError: syntax error (with the template's file and line) or a missing
            template or include.
    """
    try:
        return env.get_template(name)
    except jinja2.TemplateSyntaxError as err:
        raise _syntax_error(err, templates_dirs) from None
    except UnicodeDecodeError as err:
        raise _not_utf8(err, templates_dirs) from None
    except jinja2.TemplateNotFound as err:
        raise TemplateError(f"template not found: {err.name}",
                            _file_of(name, templates_dirs)) from None


def render_template(template: jinja2.Template, context: dict[str, Any],
                    templates_dirs: Path | list[Path], page_path: str) -> str:
    """Render ``template`` with ``context``.

    Raises:
        TemplateError: located at the template line that failed (Jinja keeps template
            frames in the traceback), naming the page being rendered.
    """
    try:
        return template.render(context)
    except TemplateError:
        raise  # a template rendered inside this one failed (shared()): where it failed
    except jinja2.TemplateSyntaxError as err:
        raise _syntax_error(err, templates_dirs) from None
    except UnicodeDecodeError as err:
        raise _not_utf8(err, templates_dirs) from None
    except jinja2.TemplateNotFound as err:
        raise TemplateError(f"template not found: {err.name} (rendering {page_path})",
                            _shown_file(template, templates_dirs)) from None
    except Exception as err:  # noqa: BLE001 - any render failure is a template error
        path, line = _template_frame(sys.exc_info()[2], templates_dirs)
        if path is None:
            path = _shown_file(template, templates_dirs)
        raise TemplateError(f"{type(err).__name__}: {err} (rendering {page_path})",
                            path, line) from err


def _shown_file(template: jinja2.Template, templates_dirs: Path | list[Path]) -> str:
    return display_path(template.filename) if template.filename \
        else _file_of(str(template.name), templates_dirs)


def _not_utf8(err: UnicodeDecodeError, templates_dirs: Path | list[Path]) -> TemplateError:
    return TemplateError(f"not valid UTF-8: byte 0x{err.object[err.start]:02x} at offset "
                         f"{err.start}; save the template as UTF-8",
                         _failing_template(templates_dirs))


def _failing_template(templates_dirs: Path | list[Path]) -> str:
    """The first template of the folders that is not UTF-8 (the decode error does not
    say which file it was reading)."""
    folders = _folders(templates_dirs)
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                try:
                    path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    return display_path(path)
    return display_path(folders[0]) if folders else "templates"


def _syntax_error(err: jinja2.TemplateSyntaxError,
                  templates_dirs: Path | list[Path]) -> TemplateError:
    path = err.filename or (_file_of(err.name, templates_dirs) if err.name
                            else str(_folders(templates_dirs)[0]))
    return TemplateError(f"template syntax error: {err.message}", display_path(path), err.lineno)


def _template_frame(tb: TracebackType | None, templates_dirs: Path | list[Path]
                    ) -> tuple[str | None, int | None]:
    """The innermost frame of the traceback that runs a template of the folders."""
    found: tuple[str | None, int | None] = (None, None)
    roots = tuple(r for f in _folders(templates_dirs)
                  for r in (str(f.resolve()) + "/", str(f) + "/"))
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(roots):
            found = (display_path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found
