from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness.errors import ReportError
from harness.reporters.bundle import MANIFEST, BundleReporter, verify_bundle, write_bundle
from tests.harness.reporters.sample import SampleRun


def members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def repack(bundle: Path, contents: dict[str, bytes]) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    bundle.write_bytes(gzip.compress(raw.getvalue()))


def test_bundle_holds_the_run_and_a_manifest(sample_run: SampleRun) -> None:
    bundle = write_bundle(sample_run.run_dir)
    run_id = sample_run.record.run_id
    assert bundle == sample_run.run_dir.parent / f"{run_id}.tar.gz"
    names = set(members(bundle))
    assert {
        f"{run_id}/results.json",
        f"{run_id}/{MANIFEST}",
        f"{run_id}/evidence/load/timeline.json",
        f"{run_id}/logs/api-1.log",
    } <= names
    check = verify_bundle(bundle)
    assert check.ok, check.describe()
    assert check.checked == len(names) - 1
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert bundle.with_name(bundle.name + ".sha256").read_text() == f"{digest}  {bundle.name}\n"


def test_bundle_is_reproducible(sample_run: SampleRun, tmp_path: Path) -> None:
    first = write_bundle(sample_run.run_dir, output=tmp_path / "a.tar.gz").read_bytes()
    second = write_bundle(sample_run.run_dir, output=tmp_path / "b.tar.gz").read_bytes()
    assert first == second


@pytest.mark.parametrize("tamper", ["alter", "remove", "add"])
def test_verify_detects_tampering(sample_run: SampleRun, tamper: str) -> None:
    bundle = write_bundle(sample_run.run_dir)
    contents = members(bundle)
    target = f"{sample_run.record.run_id}/results.json"
    if tamper == "alter":
        contents[target] = contents[target].replace(b'"failed"', b'"passed"', 1)
    elif tamper == "remove":
        del contents[target]
    else:
        contents[f"{sample_run.record.run_id}/evidence/extra.json"] = b"{}"
    repack(bundle, contents)
    check = verify_bundle(bundle)
    assert not check.ok
    found = {"alter": check.mismatched, "remove": check.missing, "add": check.unlisted}[tamper]
    assert found, check.describe()
    assert "does NOT match" in check.describe()


def test_bundle_without_manifest_cannot_be_verified(sample_run: SampleRun) -> None:
    bundle = write_bundle(sample_run.run_dir)
    repack(bundle, {k: v for k, v in members(bundle).items() if not k.endswith(MANIFEST)})
    with pytest.raises(ReportError, match="no single"):
        verify_bundle(bundle)


def test_not_a_run_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"no results\.json"):
        write_bundle(tmp_path)


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum (coreutils) not installed")
def test_manifest_checks_with_sha256sum(sample_run: SampleRun, tmp_path: Path) -> None:
    bundle = write_bundle(sample_run.run_dir)
    with tarfile.open(bundle, "r:gz") as tar:
        tar.extractall(tmp_path / "out", filter="data")
    done = subprocess.run(
        ["sha256sum", "--check", "--strict", MANIFEST],
        cwd=tmp_path / "out" / sample_run.record.run_id,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_bundle_reporter_slot(sample_run: SampleRun) -> None:
    bundle = BundleReporter().write(sample_run.record, sample_run.run_dir)
    assert verify_bundle(bundle).ok
