"""A pod's posture observed from inside its container, against fake testinfra hosts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from harness.targets.base import ContainerSecurity
from harness.targets.cluster.posture import ROFS_PROBE, observe_container


@dataclass
class Ran:
    rc: int
    stdout: str = ""


class FakeHost:
    def __init__(self, answers: dict[str, Ran]) -> None:
        self.answers = answers
        self.commands: list[str] = []

    def run(self, command: str, *args: str) -> Any:
        self.commands.append(command)
        return next((ran for prefix, ran in self.answers.items() if command.startswith(prefix)), Ran(0))


def test_a_hardened_container() -> None:
    host = FakeHost(
        {"id -u": Ran(0, "10001\n"), "touch": Ran(1), "grep CapEff": Ran(0, "CapEff:\t0000000000000000\n")}
    )
    assert observe_container(host) == ContainerSecurity(10001, True, "0000000000000000")
    assert not any(c.startswith("rm") for c in host.commands)


def test_a_root_writable_capable_container_and_its_probe_is_removed() -> None:
    host = FakeHost(
        {"id -u": Ran(0, "0\n"), "touch": Ran(0), "grep CapEff": Ran(0, "CapEff:\t00000000a80425fb")}
    )
    assert observe_container(host) == ContainerSecurity(0, False, "00000000a80425fb")
    assert f"rm -f {ROFS_PROBE}" in host.commands


def test_an_unreadable_uid_is_unknown_not_root() -> None:
    host = FakeHost({"id -u": Ran(1, ""), "touch": Ran(1), "grep CapEff": Ran(1, "")})
    assert observe_container(host) == ContainerSecurity(None, True, "?")


def test_pod_host_uses_the_runs_own_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    import testinfra

    from harness.targets.cluster.posture import pod_host

    seen: list[str] = []

    def get_host(spec: str) -> object:
        seen.append(spec)
        return object()

    monkeypatch.setattr(testinfra, "get_host", get_host)
    pod_host("api-1", "easy-upload", kubeconfig="/run/kubeconfig", container="api")
    assert seen == ["kubectl://api-1?namespace=easy-upload&kubeconfig=/run/kubeconfig&container=api"]
