"""The skeleton's tables are consistent with each other."""

import pytest

from poselab import skeleton as sk


def test_tree_and_pairs_consistent():
    assert len(sk.JOINT_NAMES) == len(sk.PARENTS) == sk.NUM_JOINTS == 17
    assert sk.PARENTS[sk.PELVIS] == -1 and all(p < j for j, p in enumerate(sk.PARENTS) if j)
    assert len(sk.BONES) == 16
    for left, right in sk.LEFT_RIGHT_PAIRS:
        assert sk.JOINT_NAMES[left].startswith("l_") and sk.JOINT_NAMES[right].startswith("r_")
        assert sk.JOINT_NAMES[left][2:] == sk.JOINT_NAMES[right][2:]
    perm = sk.FLIP_PERMUTATION
    assert sorted(perm) == list(range(17)) and all(perm[perm[j]] == j for j in range(17))
    assert sk.JOINT_NAMES[sk.HEAD_TOP] == "head_top" and sk.joint_index("thorax") == sk.NECK
    with pytest.raises(KeyError, match="unknown joint"):
        sk.joint_index("tail")
