"""poselab.hashing: the seeded hashes behind every synthetic sample and corrupted image, pinned bit-exact."""

from __future__ import annotations

from poselab.corruptions.rng import image_seed
from poselab.hashing import mix, splitmix64


def test_splitmix64_matches_the_reference_outputs() -> None:
    # 0xE220A8397B1DCDAF is SplitMix64's first output from state 0 (Vigna's reference implementation)
    assert splitmix64(0) == 0xE220A8397B1DCDAF
    assert [splitmix64(1), splitmix64(2**64 - 1), splitmix64(-1)] == [
        10451216379200822465, 16490336266968443936, 16490336266968443936]


def test_mix_keeps_its_values() -> None:
    assert [mix(), mix(0), mix(1, 2, 3), mix(12345, 7, 17), mix(-1, 2**70, 41)] == [
        2177342782468422677, 5153396120588991192, 2914391982908551680, 8917531621901694325,
        7492573344628981849]
    assert all(0 <= mix(s, i) < 2**63 for s in range(4) for i in range(4))


def test_image_seeds_keep_their_values() -> None:
    assert [image_seed(0, "gaussian_noise", 0, 0), image_seed(7, "fog", 12, 3),
            image_seed(-5, "occlusion", 2**40, 1)] == [4558942085100669132, 257741151633131396,
                                                       3690134916113169257]
