"""Finding models by name: the built-in ones, and a third party's through its entry point."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import pytest

from stepwise import models
from stepwise.models.tcp.model import MODEL as TCP


def test_the_built_in_models_are_the_entry_points_the_package_registers():
    registered = {ep.name: ep.value for ep in entry_points(group=models.GROUP)}
    assert {name: registered.get(name) for name in models.BUILT_IN} == models.BUILT_IN
    assert models.get("tcp") is TCP


@pytest.fixture
def installed_model(tmp_path, monkeypatch):
    """Register entry points under ``stepwise.models`` as a pip-installed package would."""
    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    monkeypatch.syspath_prepend(str(site_packages))

    def install(lines: str) -> None:
        (site_packages / "thirdparty.py").write_text("NOT_A_MODEL = object()\n")
        info = site_packages / "thirdparty-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty\n"
                                       "Version: 1.0\n")
        (info / "entry_points.txt").write_text(f"[{models.GROUP}]\n{lines}\n")
        models._registered.cache_clear()
        models.get.cache_clear()

    yield install
    sys.modules.pop("thirdparty", None)
    models._registered.cache_clear()
    models.get.cache_clear()


def test_a_third_party_model_is_found_by_its_entry_point(installed_model):
    installed_model("tcp-again = stepwise.models.tcp.model:MODEL\n"
                    "broken = thirdparty:NOT_A_MODEL")
    assert {"tcp", "bgp", "tcp-again", "broken"} <= set(models.names())
    assert models.get("tcp-again") is TCP
    with pytest.raises(TypeError, match=r"stepwise.models:broken \(thirdparty:NOT_A_MODEL\) "
                                        r"is not a stepwise.models.base.Model"):
        models.get("broken")
    with pytest.raises(KeyError):
        models.get("no-such-model")
