"""poselab sets a passive OpenMP wait policy before torch loads OpenMP, unless the user chose one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import os, poselab, torch; print(repr(os.environ.get('OMP_WAIT_POLICY')))"


@pytest.mark.parametrize("given, expected", [(None, "'PASSIVE'"), ("ACTIVE", "'ACTIVE'"), ("", "''")])
def test_wait_policy_is_passive_unless_the_user_set_one(given, expected) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_dataloader_workers_inherit_the_policy() -> None:
    code = ("import os, poselab, torch\n"
            "from torch.utils.data import DataLoader\n"
            "class D(torch.utils.data.Dataset):\n"
            "    def __len__(self): return 2\n"
            "    def __getitem__(self, i): return os.environ.get('OMP_WAIT_POLICY')\n"
            "if __name__ == '__main__':\n"
            "    print(sorted(set(DataLoader(D(), num_workers=2, batch_size=None))))\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['PASSIVE']"
