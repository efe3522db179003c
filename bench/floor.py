"""The floor: the least a Python build of the same pages can do, in one process.

    python bench/floor.py CONTENT_DIR OUT_DIR

Reads every ``.md`` under CONTENT_DIR, splits the frontmatter and loads it with
PyYAML (libyaml's loader, as stepwise does), renders the body with markdown-it-py
(CommonMark plus tables, stepwise's parser settings, but no plugins, no highlighting,
no link resolution) into a bare Jinja template, and writes ``OUT_DIR/<path>/index.html``.
No navigation, no traces, no checks. bench/compare.py runs it as a subprocess, so its
time includes interpreter start-up and imports like every other row.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import jinja2
import yaml
from markdown_it import MarkdownIt
from markupsafe import Markup

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ meta.title }}</title>
<meta name="description" content="{{ meta.description }}"></head>
<body><main><h1>{{ meta.title }}</h1>
{{ body }}
</main></body>
</html>
"""


def main() -> None:
    started = time.perf_counter()
    content, out = Path(sys.argv[1]), Path(sys.argv[2])
    if out.exists():
        shutil.rmtree(out)
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    template = jinja2.Environment(autoescape=True).from_string(TEMPLATE)
    count = 0
    for path in sorted(content.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        meta, body = {}, text
        if text.startswith("---\n"):
            end = text.find("\n---\n", 4)
            if end >= 0:
                meta = yaml.load(text[4:end + 1], Loader=Loader) or {}
                body = text[end + 5:]
        html = template.render(meta=meta, body=Markup(md.render(body)))
        rel = path.relative_to(content).with_suffix("")
        folder = out / (rel.parent if rel.name == "_index" else rel)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(html, encoding="utf-8")
        count += 1
    print(f"floor: {count} pages in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
