"""Templates: the Jinja environment and how its errors become build errors.

Autoescape is on everywhere and undefined variables are errors
(:class:`jinja2.StrictUndefined`), so a typo in a template fails the build instead of
printing nothing. Layouts live in ``templates/layouts/NAME.html``; a page picks one with
``layout:``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from markupsafe import Markup

from .errors import TemplateError, display_path

LAYOUT_DIR = "layouts"


def create_environment(templates_dir: Path) -> jinja2.Environment:
    """A Jinja environment over ``templates_dir`` (autoescape, StrictUndefined)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
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


def known_layouts(templates_dir: Path) -> list[str]:
    """Names of the layouts in ``templates/layouts/`` (``lesson`` for ``lesson.html``)."""
    folder = templates_dir / LAYOUT_DIR
    return sorted(p.stem for p in folder.glob("*.html")) if folder.is_dir() else []


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


def load_template(env: jinja2.Environment, name: str, templates_dir: Path) -> jinja2.Template:
    """Load (and compile) a template.

    Raises:
        TemplateError: syntax error (with the template's file and line) or a missing
            template or include.
    """
    try:
        return env.get_template(name)
    except jinja2.TemplateSyntaxError as err:
        raise _syntax_error(err, templates_dir) from None
    except UnicodeDecodeError as err:
        raise _not_utf8(err, templates_dir) from None
    except jinja2.TemplateNotFound as err:
        raise TemplateError(f"template not found: {err.name}",
                            display_path(templates_dir / name)) from None


def render_template(template: jinja2.Template, context: dict[str, Any], templates_dir: Path,
                    page_path: str) -> str:
    """Render ``template`` with ``context``.

    Raises:
        TemplateError: located at the template line that failed (Jinja keeps template
            frames in the traceback), naming the page being rendered.
    """
    try:
        return template.render(context)
    except jinja2.TemplateSyntaxError as err:
        raise _syntax_error(err, templates_dir) from None
    except UnicodeDecodeError as err:
        raise _not_utf8(err, templates_dir) from None
    except jinja2.TemplateNotFound as err:
        raise TemplateError(f"template not found: {err.name} (rendering {page_path})",
                            display_path(templates_dir / str(template.name))) from None
    except Exception as err:  # noqa: BLE001 - any render failure is a template error
        path, line = _template_frame(sys.exc_info()[2], templates_dir)
        if path is None:
            path = display_path(templates_dir / str(template.name))
        raise TemplateError(f"{type(err).__name__}: {err} (rendering {page_path})",
                            path, line) from err


def _not_utf8(err: UnicodeDecodeError, templates_dir: Path) -> TemplateError:
    return TemplateError(f"not valid UTF-8: byte 0x{err.object[err.start]:02x} at offset "
                         f"{err.start}; save the template as UTF-8",
                         _failing_template(templates_dir))


def _failing_template(templates_dir: Path) -> str:
    """The first template of the folder that is not UTF-8 (the decode error does not
    say which file it was reading)."""
    for path in sorted(templates_dir.rglob("*")):
        if path.is_file():
            try:
                path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                return display_path(path)
    return display_path(templates_dir)


def _syntax_error(err: jinja2.TemplateSyntaxError, templates_dir: Path) -> TemplateError:
    path = err.filename or (str(templates_dir / err.name) if err.name else str(templates_dir))
    return TemplateError(f"template syntax error: {err.message}", display_path(path), err.lineno)


def _template_frame(tb: TracebackType | None, templates_dir: Path) -> tuple[str | None, int | None]:
    found: tuple[str | None, int | None] = (None, None)
    root = str(templates_dir.resolve())
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root) or filename.startswith(str(templates_dir)):
            found = (display_path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found
