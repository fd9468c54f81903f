"""The per-user cache of `terraform init` results: keyed by what init reads, never a stale or large copy."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from harness.iac import init_cache
from harness.iac.terraform_cli import TerraformRunner, TerraformSettings

SETTINGS = TerraformSettings(binary=sys.executable)  # any binary on PATH: its stamp is part of the key


def _initialised(tmp_path: Path, mirror: Path) -> Path:
    work = tmp_path / "work"
    (work / ".terraform" / "providers").mkdir(parents=True)
    (work / ".terraform" / "providers" / "aws").symlink_to(mirror)
    (work / ".terraform" / "plugin_path").write_text('["/mirror"]')
    (work / ".terraform.lock.hcl").write_text("# lock\n")
    (work / "main.tf").write_text("# env\n")
    return work


def test_the_key_follows_the_tf_files_the_binary_and_the_mirror(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "main.tf").write_text('resource "x" "y" {}\n')
    (tree / "zz_override.tf").write_text("# per run\n")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with_mirror = TerraformSettings(binary=sys.executable, plugin_dir=mirror)
    key = init_cache.cache_key(tree, with_mirror, skip=("zz_override.tf",))
    (tree / "zz_override.tf").write_text("# another run, another port\n")
    assert init_cache.cache_key(tree, with_mirror, skip=("zz_override.tf",)) == key
    (mirror / "provider_v2").write_text("new provider")
    assert init_cache.cache_key(tree, with_mirror, skip=("zz_override.tf",)) != key
    before = init_cache.cache_key(tree, SETTINGS)
    (tree / "main.tf").write_text('resource "x" "z" {}\n')
    assert init_cache.cache_key(tree, SETTINGS) != before


def test_save_then_restore_gives_the_same_tree_with_its_links(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    work = _initialised(tmp_path, mirror)
    entry = tmp_path / "cache" / "k"
    assert init_cache.save(work, entry)
    assert not init_cache.save(work, entry)  # first one wins
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert init_cache.restore(entry, fresh)
    assert (fresh / ".terraform" / "providers" / "aws").readlink() == mirror
    assert (fresh / ".terraform.lock.hcl").read_text() == "# lock\n"


def test_a_cached_tree_whose_mirror_is_gone_is_not_used(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    entry = tmp_path / "cache" / "k"
    assert init_cache.save(_initialised(tmp_path, mirror), entry)
    mirror.rmdir()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert not init_cache.restore(entry, fresh)
    assert not (fresh / ".terraform").exists()


def test_a_downloaded_provider_is_never_copied_into_the_cache(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    work = _initialised(tmp_path, mirror)
    (work / ".terraform" / "providers" / "big").write_bytes(b"\0" * (2 << 20))
    assert not init_cache.save(work, tmp_path / "cache" / "k")
    assert not (tmp_path / "cache" / "k").exists()


def test_where_the_cache_lives_and_how_to_turn_it_off() -> None:
    assert init_cache.cache_root({"HARNESS_CACHE_DIR": "/c"}) == Path("/c/terraform-init")
    assert init_cache.cache_root({"XDG_CACHE_HOME": "/x"}) == Path("/x/harness/terraform-init")
    assert init_cache.cache_root({"HARNESS_TERRAFORM_INIT_CACHE": "0", "HARNESS_CACHE_DIR": "/c"}) is None


MIRROR = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))


@pytest.mark.skipif(shutil.which("terraform") is None or not (MIRROR / "registry.terraform.io").is_dir(),
                    reason="terraform or a hashicorp/aws mirror (TF_PLUGIN_DIR) missing")
def test_a_restored_init_is_one_terraform_accepts(tmp_path: Path) -> None:
    """Observed by Terraform itself: `validate` in a dir that got the cached init and no init of its
    own; and after the mirror's provider is gone, Terraform refuses the same dir."""
    settings = TerraformSettings(plugin_dir=MIRROR)
    first, second = tmp_path / "a", tmp_path / "b"
    for work in (first, second):
        work.mkdir()
        (work / "main.tf").write_text(REQUIRES_AWS)
    TerraformRunner(settings, first).init()
    entry = tmp_path / "cache" / "k"
    assert init_cache.save(first, entry)
    assert init_cache.restore(entry, second)
    assert TerraformRunner(settings, second).validate().returncode == 0
    (second / ".terraform.lock.hcl").write_text("# emptied\n")  # what a stale entry would be
    stale = TerraformRunner(settings, second).run(["validate", "-no-color"], check=False)
    assert stale.returncode != 0 and "terraform init" in stale.stderr  # Terraform asks for a real init


REQUIRES_AWS = """terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
  }
}
"""
