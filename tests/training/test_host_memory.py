"""speed.reuse_host_memory: big CPU tensors reuse freed memory instead of fresh pages."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from dlzoo.utils.host_memory import reuse_freed_host_memory

# allocate, fill and free a 64 MiB tensor 20 times; print the page faults this took
FAULTS = """
import resource, sys, torch
from dlzoo.utils.host_memory import reuse_freed_host_memory
applied = reuse_freed_host_memory() if sys.argv[1] == "on" else False
torch.empty(16 * 2**20).fill_(1.0)  # warm up torch's own first-use allocations
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    torch.empty(16 * 2**20).fill_(1.0)
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> tuple[bool, int]:
    out = subprocess.run(
        [sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_freed_memory_is_reused_instead_of_faulted_in_again() -> None:
    applied, with_reuse = page_faults("on")
    _, without = page_faults("off")
    assert applied
    pages = 20 * 64 * 2**20 // 4096
    assert without > pages // 2  # glibc's default: every allocation maps fresh pages
    assert with_reuse < without // 2, (with_reuse, without)


def test_other_systems_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert reuse_freed_host_memory() is False
