"""The generated parts of docs/: each model's reference, written from its code.

A Markdown file holds a generated section between two comments::

    <!-- generated: tcp actions -->
    | action | RFC 9293 | what happens |
    ...
    <!-- end generated -->

:func:`regenerate` rewrites every such section from ``Model.reference()``, so the docs
cannot drift from the code; ``python build.py docs`` runs it on docs/, and
``--check`` (a test, CI) fails where a section is stale.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import models

_SECTION = re.compile(r"(<!-- generated: (\S+) (\S+) -->\n)(.*?)(<!-- end generated -->)",
                      re.DOTALL)


class ReferenceError(ValueError):
    """A generated section names a model or section that does not exist."""


def regenerate(text: str, where: str = "") -> str:
    """``text`` with every generated section rewritten.

    Raises:
        ReferenceError: a section names an unknown model or section (``where`` says
            which file, for the message).
    """

    def fill(match: re.Match[str]) -> str:
        start, model, section, _old, end = match.groups()
        try:
            sections = models.get(model).reference()
        except KeyError:
            raise ReferenceError(f"{where}: unknown model {model!r} in a generated section; "
                                 f"known models: {', '.join(models.names())}") from None
        if section not in sections:
            raise ReferenceError(f"{where}: the {model} model has no reference section "
                                 f"{section!r}; it has {', '.join(sections)}")
        return start + sections[section] + end

    return _SECTION.sub(fill, text)


def update_docs(folder: Path, *, check: bool = False) -> list[Path]:
    """Rewrite the generated sections of every ``.md`` file under ``folder``.

    Returns:
        The files that were stale (rewritten, or with ``check`` only reported).
    """
    stale = []
    for path in sorted(folder.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        new = regenerate(text, str(path))
        if new != text:
            stale.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    return stale
