"""A per-user cache of what ``terraform init`` leaves in a working dir, for trees initialised again
and again (the local target copies ``terraform/`` into every run dir and inits it there).

With a plugin mirror, ``init -plugin-dir`` writes only symlinks into the mirror, ``plugin_path`` and
``.terraform.lock.hcl``: a few KiB that depend on the ``.tf`` files, the mirror and the binary, and
cost a Terraform start each run (0.7 s idle here, 2-3 s on a loaded machine). The key covers all
three; anything else (a provider downloaded from a registry: large regular files) is not cached,
and a cached tree whose links no longer resolve is ignored. Terraform still checks the lock file
against the installed providers at every plan, so a stale entry fails loudly, never quietly.

Where: ``HARNESS_CACHE_DIR``, else ``$XDG_CACHE_HOME/harness``, else ``~/.cache/harness``;
``HARNESS_TERRAFORM_INIT_CACHE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from harness.iac.terraform_cli import TerraformSettings

DOT_TERRAFORM = ".terraform"
LOCK_FILE = ".terraform.lock.hcl"
_MAX_CACHED_BYTES = 1 << 20  # symlinks and small files only: never a copy of a provider binary


def cache_root(environ: Mapping[str, str] | None = None) -> Path | None:
    """The user's cache dir for init results; None when turned off."""
    env = os.environ if environ is None else environ
    if env.get("HARNESS_TERRAFORM_INIT_CACHE", "1") == "0":
        return None
    base = env.get("HARNESS_CACHE_DIR") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "harness")
    return Path(base) / "terraform-init"


def cache_key(tree: Path, settings: TerraformSettings, *, skip: tuple[str, ...] = ()) -> str:
    """What init's result depends on: every ``.tf``/``.hcl`` file of ``tree`` (but ``skip``), the
    binary and the plugin mirror's files (path, size, mtime)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in tree.rglob("*") if p.suffix in (".tf", ".hcl") and p.name not in skip
                       and DOT_TERRAFORM not in p.relative_to(tree).parts and p.name != LOCK_FILE):
        digest.update(f"{path.relative_to(tree)}\0".encode() + path.read_bytes() + b"\0")
    binary = Path(settings.executable()).resolve()
    digest.update(_stamp(binary).encode())
    if settings.plugin_dir is not None:
        digest.update(str(settings.plugin_dir).encode())
        for path in sorted(settings.plugin_dir.rglob("*")):
            digest.update(_stamp(path).encode())
    return digest.hexdigest()[:32]


def restore(entry: Path, workdir: Path) -> bool:
    """Put a cached init result into ``workdir``; False when there is none usable."""
    if not (entry / LOCK_FILE).is_file() or not _links_resolve(entry / DOT_TERRAFORM):
        return False
    shutil.copytree(entry / DOT_TERRAFORM, workdir / DOT_TERRAFORM, symlinks=True, dirs_exist_ok=True)
    shutil.copy2(entry / LOCK_FILE, workdir / LOCK_FILE)
    return True


def save(workdir: Path, entry: Path) -> bool:
    """Keep ``workdir``'s init result under ``entry`` (atomically; a concurrent save wins or loses
    whole). False when it is not worth caching (large files: a downloaded provider)."""
    source = workdir / DOT_TERRAFORM
    if entry.exists() or not (workdir / LOCK_FILE).is_file() or not source.is_dir():
        return False
    if _regular_bytes(source) > _MAX_CACHED_BYTES:
        return False
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
    try:
        shutil.copytree(source, staging / DOT_TERRAFORM, symlinks=True)
        shutil.copy2(workdir / LOCK_FILE, staging / LOCK_FILE)
        os.rename(staging, entry)
    except OSError:
        return False
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _stamp(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        return f"{path}:missing\n"
    return f"{path}:{info.st_size}:{info.st_mtime_ns}\n"


def _regular_bytes(tree: Path) -> int:
    return sum(p.lstat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())


def _links_resolve(tree: Path) -> bool:
    return tree.is_dir() and all(p.exists() for p in tree.rglob("*") if p.is_symlink())


__all__ = ["cache_key", "cache_root", "restore", "save"]
