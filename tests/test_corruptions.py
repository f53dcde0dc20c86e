"""poselab.corruptions against the reference implementation, imagecorruptions (bethgelab), on the same
image (a rendered synthetic sample at 224 px, the size the package's parameters are tuned for).

Deterministic corruptions are compared pixel for pixel; the random ones either replay the package's
random draws (fog: the fractal's uniforms; motion blur: the angle) or, where the random number
generators cannot be aligned (noise: numpy's Gaussian/Poisson samplers, and skimage's own unseeded
generator for salt and pepper), by the distribution of the noise.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from support.corruption_reference import load_reference

from poselab.corruptions import CORRUPTION_NAMES, CORRUPTIONS, blur, corrupt, digital, jpeg, noise, weather
from poselab.corruptions.rng import ImageRNG

ic = load_reference()
SEV = (1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """One rendered synthetic test image, uint8 (224, 224, 3)."""
    from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset

    ds = build_dataset(DEFAULT_DATA_CONFIGS, {"image_size": 224, "test_size": 1}, "test")
    return ds[0]["images"][0].permute(1, 2, 0).numpy().copy()


def ours(img: np.ndarray, fn, *args) -> np.ndarray:
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    return fn(x, *args)[0].permute(1, 2, 0).double().numpy()


def theirs(img: np.ndarray, name: str, severity: int) -> np.ndarray:
    """The package's float result (before corrupt()'s uint8 flooring)."""
    return np.asarray(ic.corruption_dict[name](Image.fromarray(img), severity), dtype=np.float64)


@pytest.mark.parametrize("severity", SEV)
@pytest.mark.parametrize("name, fn, tol", [
    ("brightness", digital.brightness, 1e-3),  # HSV round trip = scaling by V'/V, float32 vs float64
    ("contrast", digital.contrast, 1e-3),
    ("defocus_blur", lambda x, s: blur.defocus_blur(x, s, 1.0), 1e-3),
    # Pillow resizes uint8 images in two passes, rounding each to an integer: up to 1 level apart
    ("pixelate", digital.pixelate, 1.0 + 1e-3),
])
def test_deterministic_corruptions_equal_reference(image, name, fn, tol, severity):
    a, b = ours(image, fn, severity), theirs(image, name, severity)
    assert np.abs(a - b).max() <= tol
    assert np.abs(a - image).mean() > 1.0  # the corruption did something


def test_disk_kernel_equals_reference():
    for radius, alias in blur.DEFOCUS_BLUR:
        ref = ic.corruptions.disk(radius, alias)
        k = blur.disk_kernel(radius, alias).numpy()
        trim = (len(ref) - len(k)) // 2
        assert np.abs(ref[trim:len(ref) - trim, trim:len(ref) - trim] - k).max() < 1e-7
        assert np.abs(ref).sum() == pytest.approx(np.abs(k).sum(), abs=1e-6)  # trimmed rows were zero


@pytest.mark.parametrize("severity", SEV)
def test_motion_blur_equals_reference_at_the_same_angle(image, severity):
    """The package draws the angle from numpy's global RNG; replay it, then compare pixel for pixel."""
    np.random.seed(severity)
    angle = np.random.uniform(-45, 45)
    np.random.seed(severity)
    b = theirs(image, "motion_blur", severity)
    a = ours(image, blur.motion_blur, severity, torch.tensor([angle]), 1.0)
    assert np.abs(a - b).max() < 1e-2


@pytest.mark.parametrize("severity", SEV)
def test_fog_equals_reference_with_its_random_draws(image, severity, monkeypatch):
    """Record the package's uniforms (numpy's global RNG) and feed the same numbers to our fractal."""
    draws: list[tuple[np.ndarray, float, float]] = []
    real = np.random.uniform

    def recording(low, high, size):
        out = real(low, high, size)
        draws.append((out, low, high))
        return out

    monkeypatch.setattr(np.random, "uniform", recording)
    b = theirs(image, "fog", severity)
    monkeypatch.setattr(np.random, "uniform", real)
    replay = iter(draws)

    def uniform(*shape):
        out, low, high = next(replay)
        assert out.shape == shape  # same order and shapes of draws
        return torch.from_numpy((out - low) / (high - low))[None]

    fractal = weather.plasma_fractal(1, 256, weather.FOG[severity - 1][1], uniform)
    a = ours(image, weather.fog_from_fractal, severity, fractal)
    assert next(replay, None) is None
    assert np.abs(a - b).max() < 1e-2


@pytest.mark.parametrize("severity", SEV)
def test_jpeg_matches_pillow(image, severity):
    """Same quantisation tables as Pillow writes; pixels differ only by libjpeg's integer DCT and rounding
    (about one grey level on average), far less than the compression error itself."""
    quality = jpeg.JPEG_QUALITY[severity - 1]
    out = ic.corruption_dict["jpeg_compression"](Image.fromarray(image), severity)
    luma, chroma = jpeg.quant_tables(quality)
    assert out.quantization[0] == luma.int().reshape(-1).tolist()
    assert out.quantization[1] == chroma.int().reshape(-1).tolist()
    b = np.asarray(out, dtype=np.float64)
    a = ours(image, jpeg.jpeg_compression, severity)
    ref_err = np.abs(b - image).mean()
    assert np.abs(a - b).mean() < 1.5
    assert np.abs(a - image).mean() == pytest.approx(ref_err, rel=0.1)


@pytest.mark.parametrize("angle", [-45.0, -44.9, -12.3, 0.0, 30.0, 45.0])
def test_motion_blur_equals_reference_across_the_angle_range(image, angle):
    """The padding and FFT cover only the rows and columns the taps of MOTION_ANGLE reach: its ends
    included, on a non-square crop, every tap lands as in the package."""
    crop = np.ascontiguousarray(image[:96, :160])
    radius, sigma = blur.MOTION_BLUR[4]
    b = np.clip(ic.corruptions._motion_blur(crop, radius=radius, sigma=sigma, angle=angle), 0, 255)
    a = ours(crop, blur.motion_blur, 5, torch.tensor([angle]), 1.0)
    assert np.abs(a - b).max() < 1e-2


@pytest.mark.parametrize("size", [(97, 130), (64, 64), (33, 200)])
def test_pixelate_segment_sums_equal_the_resize_matrices(size):
    """The CPU path (segment sums, index up-sampling) equals the resize-matrix product and torch's
    nearest-exact, also where rounding leaves a pixel out of every box (97 px at 0.6)."""
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0)) * 255
    h, w = size
    for severity in SEV:
        c = digital.PIXELATE[severity - 1]
        mh = digital.box_resize_matrix(h, int(h * c))
        mw = digital.box_resize_matrix(w, int(w * c))
        small = torch.einsum("ih,nchw,jw->ncij", mh, x, mw).clamp(0, 255)
        expected = torch.nn.functional.interpolate(small, size=size, mode="nearest-exact")
        assert (digital.pixelate(x, severity) - expected).abs().max() < 1e-3
        assert torch.equal(digital.nearest_exact(small, h, w), expected)


@pytest.mark.parametrize("name", ["gaussian_noise", "shot_noise", "impulse_noise", "fog", "motion_blur"])
def test_random_corruptions_do_not_depend_on_the_thread_count(name):
    x = torch.rand(5, 3, 48, 40, generator=torch.Generator().manual_seed(2)) * 255
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = corrupt(x, name, 3, seed=4, samples=range(5))
        torch.set_num_threads(3)
        three = corrupt(x, name, 3, seed=4, samples=range(5))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, three)


def _gray(value: int, size: int = 224) -> np.ndarray:
    return np.full((size, size, 3), value, dtype=np.uint8)


@pytest.mark.parametrize("severity", SEV)
def test_gaussian_noise_distribution(severity):
    """Different RNGs (numpy vs torch): compare the noise's mean, std and clipped fraction on mid grey
    (150528 draws each: std agrees to ~0.3 %, so 2 % is a safe margin)."""
    img = _gray(128)
    b = theirs(img, "gaussian_noise", severity) - 128
    a = ours(img, noise.gaussian_noise, severity, ImageRNG([severity])) - 128
    c = 255 * noise.GAUSSIAN_NOISE[severity - 1]
    expected = np.clip(np.random.default_rng(0).normal(0, c, 10**6), -128, 127).std()
    for d in (a, b):
        assert d.std() == pytest.approx(expected, rel=0.02)
    assert a.mean() == pytest.approx(b.mean(), abs=0.5)
    assert a.std() == pytest.approx(b.std(), rel=0.02)
    assert (a <= -128).mean() == pytest.approx((b <= -128).mean(), abs=0.005)


@pytest.mark.parametrize("severity", SEV)
@pytest.mark.parametrize("level", [40, 128, 220])
def test_shot_noise_distribution(severity, level):
    """Poisson counts from numpy vs torch: same mean and std of the output at three grey levels."""
    img = _gray(level)
    b = theirs(img, "shot_noise", severity)
    a = ours(img, noise.shot_noise, severity, ImageRNG([severity + level]))
    assert a.mean() == pytest.approx(b.mean(), rel=0.01, abs=0.3)
    assert a.std() == pytest.approx(b.std(), rel=0.02)
    c = noise.SHOT_NOISE[severity - 1]
    assert set(np.unique(a * c / 255).round(3)) <= set(np.arange(0, c + 1).round(3))  # counts / c


@pytest.mark.parametrize("severity", SEV)
def test_impulse_noise_distribution(severity):
    """skimage draws salt and pepper from its own unseeded generator: compare the fractions of pixel
    channels set to 255 and to 0 (each c/2) and check the rest is unchanged."""
    img = _gray(128)
    b = theirs(img, "impulse_noise", severity)
    a = ours(img, noise.impulse_noise, severity, ImageRNG([severity]))
    c = noise.IMPULSE_NOISE[severity - 1]
    for d in (a, b):
        assert (d == 255).mean() == pytest.approx(c / 2, abs=0.003)
        assert (d == 0).mean() == pytest.approx(c / 2, abs=0.003)
        assert ((d == 128) | (d == 0) | (d == 255)).all()
    assert (a == 255).mean() == pytest.approx((b == 255).mean(), abs=0.004)


# ----------------------------------------------------------------------------- image-size rule
def _spread(img: torch.Tensor) -> float:
    """RMS distance (px) of the image's mass from its centroid."""
    w = img[0, 0].double()
    h, wd = w.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(wd, dtype=torch.float64),
                            indexing="ij")
    m = w / w.sum()
    cy, cx = (m * ys).sum(), (m * xs).sum()
    return float(((m * ((ys - cy) ** 2 + (xs - cx) ** 2)).sum()).sqrt())


def _dot(size: int) -> torch.Tensor:
    x = torch.zeros(1, 3, size, size)
    x[..., size // 2, size // 2] = 255.0
    return x


@pytest.mark.parametrize("name", ["defocus_blur", "motion_blur"])
@pytest.mark.parametrize("severity", [3, 4, 5])
def test_blur_extent_is_a_fixed_fraction_of_the_image(name, severity):
    """The rule: pixel-length parameters scale with min(H, W) / 224, so a point spreads over the same
    fraction of a 112 px and of a 224 px image (to discretisation), and exactly as the package at 224."""
    fractions = {}
    for size in (112, 224, 448):
        out = corrupt(_dot(size), name, severity, seed=3)
        fractions[size] = _spread(out) / size
    assert fractions[112] == pytest.approx(fractions[224], rel=0.15)
    assert fractions[448] == pytest.approx(fractions[224], rel=0.15)
    unscaled = _spread(corrupt(_dot(112), name, severity, seed=3, reference_size=None)) / 112
    assert unscaled > 1.6 * fractions[112]  # the package's pixel values would blur twice as much of it


def test_scale_free_corruptions_ignore_reference_size(image):
    x = torch.from_numpy(image).permute(2, 0, 1)[None, :, :64, :64].float()
    for name in ("gaussian_noise", "brightness", "contrast", "pixelate", "jpeg_compression", "fog"):
        assert torch.equal(corrupt(x, name, 3), corrupt(x, name, 3, reference_size=None))


def test_corrupt_at_224_is_the_package_unscaled(image):
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    b = theirs(image, "defocus_blur", 4)
    a = corrupt(x, "defocus_blur", 4)[0].permute(1, 2, 0).numpy()
    assert np.abs(a - b).max() < 1e-3


# ----------------------------------------------------------------------------- determinism, views
@pytest.mark.parametrize("name", [n for n in CORRUPTION_NAMES if CORRUPTIONS[n].random])
def test_deterministic_per_seed_sample_view(name):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 40, 40, generator=g) * 255
    j = torch.rand(4, 17, 2, generator=g) * 30 + 5
    full = corrupt(x, name, 3, seed=7, samples=[10, 11, 12, 13], views=[0, 1, 0, 1], joints_2d=j)
    # another batch order and a batch of one: each image depends only on (seed, sample, view)
    perm = [2, 0, 3, 1]
    shuffled = corrupt(x[perm], name, 3, seed=7, samples=[12, 10, 13, 11], views=[0, 0, 1, 1],
                       joints_2d=j[perm])
    assert torch.equal(shuffled, full[perm])
    one = corrupt(x[1:2], name, 3, seed=7, samples=[11], views=[1], joints_2d=j[1:2])
    assert torch.equal(one[0], full[1])
    assert not torch.equal(corrupt(x[1:2], name, 3, seed=8, samples=[11], views=[1], joints_2d=j[1:2]), one)
    assert not torch.equal(corrupt(x[1:2], name, 3, seed=7, samples=[11], views=[2], joints_2d=j[1:2]), one)


def test_multiview_and_one_camera_corrupted():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 4, 3, 32, 32, generator=g) * 255
    all_views = corrupt(x, "gaussian_noise", 2, seed=1, samples=[5, 6])
    one = corrupt(x, "gaussian_noise", 2, seed=1, samples=[5, 6], view_mask=[False, False, True, False])
    assert torch.equal(one[:, [0, 1, 3]], x[:, [0, 1, 3]])  # the other cameras untouched
    assert torch.equal(one[:, 2], all_views[:, 2])
    flat = corrupt(x[:, 2], "gaussian_noise", 2, seed=1, samples=[5, 6], views=[2, 2])
    assert torch.equal(flat, one[:, 2])


@pytest.mark.parametrize("name", [n for n in CORRUPTION_NAMES if n != "occlusion"])
def test_damage_grows_with_severity(image, name):
    """Mean absolute change grows with severity; for fog, whose last severities trade strength for
    roughness (the mean change plateaus), the loss of correlation with the clean image grows."""
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()

    def damage(y: torch.Tensor) -> float:
        if name != "fog":
            return float((y - x).abs().mean())
        xc, yc = x - x.mean(), y - y.mean()
        return 100 * (1 - float((xc * yc).sum() / (xc.norm() * yc.norm())))

    change = [damage(corrupt(x, name, s, seed=0)) for s in SEV]
    assert all(b >= a - 0.05 for a, b in zip(change, change[1:])), change
    assert change[-1] > change[0]


# ----------------------------------------------------------------------------- occlusion
def test_occlusion_boxes_cover_random_joints_and_scale_with_the_person():
    x = torch.full((2, 3, 96, 96), 100.0)
    j = torch.stack([torch.stack([torch.linspace(20, 70, 17), torch.linspace(10, 80, 17)], -1),
                     torch.stack([torch.linspace(30, 50, 17), torch.linspace(30, 60, 17)], -1)])
    for s in SEV:
        out = corrupt(x, "occlusion", s, seed=0, samples=[0, 1], joints_2d=j)
        for n in range(2):
            changed = (out[n] != 100).any(dim=0)
            k, frac = CORRUPTIONS["occlusion"].parameters[s - 1]
            hit = changed[j[n, :, 1].long(), j[n, :, 0].long()]
            assert int(hit.sum()) >= k  # every chosen joint is under a box (neighbours may be too)
            extent = float((j[n].amax(0) - j[n].amin(0)).amax())
            assert int(changed.sum()) <= k * (frac * extent + 1) ** 2
    small = (corrupt(x, "occlusion", 1, samples=[0, 1], joints_2d=j) != 100).any(1).sum((1, 2))
    assert small[0] > small[1]  # the larger person gets the larger box
    s3 = corrupt(x, "occlusion", 3, samples=[0, 1], joints_2d=j)
    s4 = corrupt(x, "occlusion", 4, samples=[0, 1], joints_2d=j)
    assert ((s3 != 100) <= (s4 != 100) | (s3 == s4)).all()


def test_bad_input_errors():
    x = torch.rand(1, 3, 40, 40) * 255
    with pytest.raises(ValueError, match="severity must be an integer in 1..5"):
        corrupt(x, "fog", 6)
    with pytest.raises(ValueError, match="unknown corruption 'snow'"):
        corrupt(x, "snow", 1)
    with pytest.raises(ValueError, match="at least 32 px"):
        corrupt(torch.rand(1, 3, 16, 16), "fog", 1)
    with pytest.raises(ValueError, match="needs joints_2d"):
        corrupt(x, "occlusion", 1)
    with pytest.raises(ValueError, match="floating point"):
        corrupt(x.byte(), "fog", 1)
    with pytest.raises(ValueError, match="samples must have 1 entries"):
        corrupt(x, "fog", 1, samples=[1, 2])


def test_dtype_and_device_kept():
    x = (torch.rand(2, 3, 40, 40) * 255).double()
    for name in CORRUPTION_NAMES:
        y = corrupt(x, name, 2, joints_2d=torch.rand(2, 17, 2) * 30)
        assert y.dtype == torch.float64 and y.shape == x.shape
        assert 0 <= float(y.min()) and float(y.max()) <= 255
