"""``stepwise new DIR``: a starter site that builds with no warning.

The starter's files are in ``stepwise/starter/`` (shipped in the wheel): ``site.yaml``,
a home page, a section of lessons with one lesson that plays a TCP simulation, a
knowledge-base article that the lesson links to and that links back, a README, a
``.gitignore`` and a GitHub Pages workflow (stored as ``gitignore`` and
``github/workflows/pages.yml``: package data skips dotfiles, so they are renamed on the
way out). It has no simulator page: that needs the Pyodide runtime from npm, which a
pip-installed stepwise does not have (its README says how to add one). It also gets a
``requirements.txt`` saying where CI installs stepwise from: the place this stepwise
was installed from, when that is one CI can reach.
"""

from __future__ import annotations

import json
import string
from importlib import metadata
from pathlib import Path

from .errors import BuildError, display_path
from .simulator import PYODIDE_VERSION

#: The starter's files, in this package.
STARTER = Path(__file__).resolve().parent / "starter"
#: Stored name -> name in the new site.
RENAMED = {"gitignore": ".gitignore", "github": ".github"}
#: Files whose ``$title``-style placeholders are filled in.
TEMPLATED = ("site.yaml", "README.md", ".github/workflows/pages.yml")
#: The starter's base_url until the author gives theirs (Hugo's placeholder too).
PLACEHOLDER_URL = "https://example.org/"


def starter_files() -> dict[str, Path]:
    """The starter's files: path in the new site (POSIX) -> file in this package."""
    files = {}
    for path in sorted(STARTER.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            parts = path.relative_to(STARTER).parts
            files["/".join((RENAMED.get(parts[0], parts[0]), *parts[1:]))] = path
    return files


def install_requirement() -> str | None:
    """The requirement line that installs this stepwise elsewhere (CI): ``stepwise @
    git+https://...@COMMIT`` for a VCS install, ``stepwise @ URL`` for an archive
    downloaded over HTTP(S), ``stepwise==VERSION`` for an install from a package index;
    None for a local folder or file, which CI cannot reach."""
    try:
        dist = metadata.distribution("stepwise")
    except metadata.PackageNotFoundError:
        return None
    direct = dist.read_text("direct_url.json")
    if not direct:
        return f"stepwise=={dist.version}"  # from an index: the same index has it
    try:
        info = json.loads(direct)
        url = str(info["url"])
    except (ValueError, KeyError, TypeError):
        return None
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and url.startswith(("https://", "http://", "ssh://")):
        return f"stepwise @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}".rstrip("@")
    if url.startswith(("https://", "http://")):
        return f"stepwise @ {url}"
    return None


def requirements_text(requirement: str | None) -> str:
    """``requirements.txt`` of the new site: where CI (the Pages workflow, Netlify)
    installs stepwise from."""
    head = "# Where CI (the GitHub Pages workflow, Netlify) installs stepwise from.\n"
    if requirement is not None:
        return head + requirement + "\n"
    return head + (
        "# This stepwise was installed from a folder or file of this computer, which CI\n"
        "# cannot reach: replace the line below with where it can get it, e.g.\n"
        "#   stepwise @ git+https://github.com/OWNER/stepwise@v0.1.0\n"
        "#   stepwise @ https://example.org/dist/stepwise-0.1.0-py3-none-any.whl\n"
        "# stepwise @ git+https://github.com/OWNER/stepwise\n")


def create_site(folder: Path, *, title: str | None = None,
                base_url: str | None = None) -> list[Path]:
    """Write the starter site into ``folder`` (made if missing; it may exist, holding
    none of the starter's files).

    Args:
        folder: the new site's folder.
        title: the site's title (default: the folder's name).
        base_url: where it will be published (default :data:`PLACEHOLDER_URL`).

    Returns:
        The files written, in order.

    Raises:
        BuildError: ``folder`` is a file, or already holds one of the starter's files
            (nothing is overwritten, nothing written).
    """
    files = starter_files()
    targets = {rel: folder / rel for rel in [*files, "requirements.txt"]}
    if folder.exists() and not folder.is_dir():
        raise BuildError("exists and is not a folder; choose another name for the new site",
                         display_path(folder))
    clashes = [display_path(path) for path in targets.values() if path.exists()]
    if clashes:
        raise BuildError(
            f"already exists; `stepwise new` writes only into a folder without its files "
            f"({len(clashes)} of them are there): choose a new or empty folder",
            clashes[0])
    name = title or folder.resolve().name
    values = {"base_url": base_url or PLACEHOLDER_URL, "pyodide": PYODIDE_VERSION}
    # in site.yaml the title is a YAML string (any text stays the same text)
    titles = {"site.yaml": _yaml_text(name), "README.md": name,
              ".github/workflows/pages.yml": name}
    written = []
    for rel, source in files.items():
        target = targets[rel]
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in TEMPLATED:
            text = string.Template(source.read_text(encoding="utf-8")).safe_substitute(
                {**values, "title": titles[rel]})
            target.write_text(text, encoding="utf-8")
        else:
            target.write_bytes(source.read_bytes())
        written.append(target)
    targets["requirements.txt"].write_text(requirements_text(install_requirement()),
                                           encoding="utf-8")
    written.append(targets["requirements.txt"])
    return written


def _yaml_text(text: str) -> str:
    """``text`` as a YAML scalar that stays the same string (quoted, escaped)."""
    return json.dumps(text, ensure_ascii=False)
