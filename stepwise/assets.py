"""The published names of the site's static files, each named by its content.

Every file under ``static/`` in the output is written under a name that carries a hash
of its bytes, ``static/css/site.css`` as ``static/css/site.3f9a1c2e.css``, so a host or
CDN can serve ``static/`` with ``Cache-Control: max-age=31536000, immutable``: a changed
file is a new URL, and a page never meets a stale stylesheet or script. That covers:

- the static files of the site and of its theme (``static/`` beside ``site.yaml`` over
  the theme's, the first folder that has a path winning; hidden files skipped);
- the files the build makes for ``static/``: the highlight stylesheet, the packed
  Python of a simulator page (``static/sim/stepwise-HASH.zip``, named by its content
  already) and the Pyodide runtime. Pyodide's loader finds ``pyodide.asm.mjs`` and
  ``pyodide.asm.wasm`` by their own names beside ``pyodide.mjs``, so the runtime keeps
  its file names in a folder named by the hash of all of them:
  ``static/pyodide/314.0.8-1a2b3c4d/``.

Templates name a file by its path in the sources, ``asset('static/css/site.css')``,
and get its published URL (:meth:`Assets.published`); scripts that load other files
get their URLs from the page (``data-worker``, ``data-runtime``, ``data-bundle`` of the
simulator, ``data-pagefind`` of the search box), never by a name of their own. A
``static/`` path that no file has is an error at the template's line. Paths outside
``static/`` (``pagefind/pagefind.js``, ``feed.xml``) are published as they are.

:class:`AssetStage` keeps the bytes between rebuilds: a static file is read again only
when its content hash changed (the build's snapshot has it), the runtime only when a
file's size or time changed, and never twice in one build (its hash comes from the bytes
that are written).
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import OutputError, display_path
from .simulator import RUNTIME_FILES, Runtime, bundle_path, lock_file

#: Hex digits of the content hash in a published name.
HASH_LENGTH = 8
#: The folder of the output that static files are published under.
STATIC = "static/"


class AssetError(LookupError):
    """A template names a static file that neither the site nor its theme has (the
    template's render turns it into a located error)."""


def content_hash(data: bytes) -> str:
    """The hash a published name carries: SHA-256, its first :data:`HASH_LENGTH`
    hex digits."""
    return hashlib.sha256(data).hexdigest()[:HASH_LENGTH]


def hashed_name(path: str, digest: str) -> str:
    """``static/css/site.css`` with ``digest`` before its last suffix:
    ``static/css/site.3f9a1c2e.css`` (a file without suffix: ``static/LICENSE.3f9a1c2e``)."""
    pure = PurePosixPath(path)
    if pure.suffix and pure.stem:
        return str(pure.with_name(f"{pure.stem}.{digest}{pure.suffix}"))
    return f"{path}.{digest}"


@dataclass
class Assets:
    """The static files of one build.

    Attributes:
        names: a path as the sources name it (``static/css/site.css``, the runtime's
            folder ``static/pyodide/314.0.8/``) -> its published path.
        files: published path -> bytes, every file written under ``static/``.
    """

    names: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def published(self, path: str) -> str:
        """The published path of ``path`` (a source path under ``static/``); any other
        path is published as it is.

        Raises:
            AssetError: a ``static/`` path that no file has (with the closest names).
        """
        key = path.lstrip("/")
        found = self.names.get(key)
        if found is not None:
            return found
        if not key.startswith(STATIC):
            return path
        close = difflib.get_close_matches(key, list(self.names), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise AssetError(f"no static file '{key}': {hint}asset() names a file of static/ "
                         "beside site.yaml or in the theme, by its path there")


def runtime_folder(runtime: Runtime, digest: str) -> str:
    """The runtime's published folder: ``static/pyodide/314.0.8-1a2b3c4d/``."""
    return f"{runtime.url_dir.rstrip('/')}-{digest}/"


@dataclass
class AssetStage:
    """Builds :class:`Assets`, keeping file bytes between rebuilds (see the module)."""

    _static: dict[tuple[Path, str], bytes] = field(default_factory=dict)
    _runtime: dict[tuple[Path, int, int, int], bytes] = field(default_factory=dict)

    def build(self, static: Mapping[str, tuple[Path, Path, str]],
              generated: Mapping[str, bytes], runtime: Runtime | None = None,
              bundles: Iterable[bytes] = ()) -> Assets:
        """The assets of a build.

        Args:
            static: path under ``static/`` (``css/site.css``) -> (file, the static folder
                it is in, a hash of its content that changes when it does: the build's
                snapshot's), the winning file of each path.
            generated: files the build makes, by source path (``static/css/highlight.css``).
            runtime: the Pyodide runtime, when a page is a simulator and it is installed.
            bundles: the packed Python of the simulator pages.

        Raises:
            OutputError: a static file cannot be read, is a symlink leading outside its
                folder, or has the path of a generated file.
        """
        assets = Assets()
        kept: dict[tuple[Path, str], bytes] = {}
        for rel, (source, folder, stamp) in sorted(static.items()):
            name = STATIC + rel
            if name in generated:
                raise OutputError(f"static file would overwrite the generated file {name}; "
                                  "rename it", display_path(source))
            if source.is_symlink() and not source.resolve().is_relative_to(folder.resolve()):
                raise OutputError("symlink points outside the static folder; copy the file "
                                  "in instead", display_path(source))
            data = self._static.get((source, stamp))
            if data is None:
                try:
                    data = source.read_bytes()
                except OSError as err:
                    raise OutputError(f"cannot read the file: {err.strerror}",
                                      display_path(source)) from None
            kept[(source, stamp)] = data
            self._add(assets, name, data)
        self._static = kept
        for name, data in sorted(generated.items()):
            self._add(assets, name, data)
        for bundle in bundles:
            path = bundle_path(bundle)
            assets.names[path] = path
            assets.files[path] = bundle
        if runtime is not None:
            runtime_files = self._runtime_files(runtime)
            digest = hashlib.sha256()
            for file_name, data in sorted(runtime_files.items()):
                digest.update(file_name.encode() + b"\0" + hashlib.sha256(data).digest())
            published = runtime_folder(runtime, digest.hexdigest()[:HASH_LENGTH])
            assets.names[runtime.url_dir] = published
            for file_name, data in runtime_files.items():
                assets.files[published + file_name] = data
        assets.files = dict(sorted(assets.files.items()))
        return assets

    @staticmethod
    def _add(assets: Assets, name: str, data: bytes) -> None:
        published = hashed_name(name, content_hash(data))
        assets.names[name] = published
        assets.files[published] = data

    def _runtime_files(self, runtime: Runtime) -> dict[str, bytes]:
        """The runtime's files by name, read once for as long as their stamps hold."""
        files: dict[str, bytes] = {}
        kept: dict[tuple[Path, int, int, int], bytes] = {}
        try:
            for name in RUNTIME_FILES:
                path = runtime.folder / name
                st = os.stat(path)
                key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
                data = self._runtime.get(key)
                if data is None:
                    data = path.read_bytes()
                kept[key] = files[name] = data
            files["pyodide-lock.json"] = lock_file(runtime)
        except OSError as err:
            raise OutputError(f"cannot read the Pyodide runtime: {err.strerror}; reinstall it "
                              "with `npm ci`", display_path(err.filename or runtime.folder)
                              ) from None
        self._runtime = kept
        return files
