"""OpenCV renderer: shaded capsules (pixel radius ``f * radius_mm / depth_mm``) between projected joints,
painted far to near in three layers over a textured background; randomness from the caller's generator."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from poselab.data.synthetic.pose import Subject

_SHIFT = 4  # fixed-point bits for sub-pixel drawing
_ONE = 1 << _SHIFT

# (joint a, joint b, radius mm, colour key); colour keys resolve per subject (see part_colours)
PARTS: tuple[tuple[int, int, float, str], ...] = (
    (0, 7, 135.0, "shirt"), (7, 8, 150.0, "shirt"), (1, 4, 100.0, "pants"), (11, 14, 75.0, "shirt"),
    (1, 2, 72.0, "pants_r"), (2, 3, 52.0, "pants_r"), (4, 5, 72.0, "pants_l"), (5, 6, 52.0, "pants_l"),
    (14, 15, 46.0, "shirt_r"), (15, 16, 36.0, "skin_r"), (11, 12, 46.0, "shirt_l"), (12, 13, 36.0, "skin_l"),
    (8, 9, 48.0, "skin"), (9, 10, 105.0, "head"), (3, 17, 42.0, "shoes"), (6, 18, 42.0, "shoes"),
)
#: Render-only points appended after the 17 joints (see :func:`extra_points`): right toe, left toe.
N_EXTRA = 2
N_TEXTURES = 8


def part_colours(subject: Subject) -> dict[str, np.ndarray]:
    """RGB colours (float 0..255) per colour key; left limbs are tinted so left and right differ."""
    shirt, pants, skin = (np.array(c, float) for c in (subject.shirt, subject.pants, subject.skin))
    left_tint, right_tint = np.array([40.0, 90.0, 255.0]), np.array([255.0, 120.0, 30.0])
    return {
        "shirt": shirt, "pants": pants, "skin": skin, "head": skin,
        "shirt_r": 0.6 * shirt + 0.4 * right_tint, "shirt_l": 0.6 * shirt + 0.4 * left_tint,
        "pants_r": 0.65 * pants + 0.35 * right_tint, "pants_l": 0.65 * pants + 0.35 * left_tint,
        "skin_r": 0.8 * skin + 0.2 * right_tint, "skin_l": 0.8 * skin + 0.2 * left_tint,
        "hair": np.array(subject.hair, float), "shoes": np.array([45.0, 40.0, 38.0]),
    }


def extra_points(joints: np.ndarray) -> np.ndarray:
    """Render-only 3D points (N_EXTRA, 3) mm from world joints (17, 3): the toes, ahead of the ankles."""
    right = joints[1] - joints[4]
    forward = np.array([-right[1], right[0], 0.0])
    forward /= max(float(np.linalg.norm(forward)), 1e-6)
    foot = 150.0 * forward + np.array([0.0, 0.0, -45.0])
    return np.stack([joints[3] + foot, joints[6] + foot]).astype(joints.dtype)


@lru_cache(maxsize=8)
def background_textures(seed: int, size: int) -> tuple[np.ndarray, ...]:
    """``N_TEXTURES`` RGB uint8 textures (2*size, 2*size, 3): smooth noise, tiles and stripes."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(size), 101])
    side = 2 * size
    out = []
    for k in range(N_TEXTURES):
        grey = rng.uniform(45, 170)
        base = grey + rng.uniform(-30, 30, 3)  # muted indoor colours
        tex = np.full((side, side, 3), base, np.float32)
        for octave in (4, 16, 64):  # multi-scale smooth noise, mostly luminance
            cells = min(octave, side)
            amp = 30.0 / np.sqrt(octave / 4)
            noise = rng.normal(0, amp, (cells, cells, 1)) + rng.normal(0, 0.3 * amp, (cells, cells, 3))
            tex += cv2.resize(noise.astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
        if k % 2 == 0:  # floor tiles / wall panels
            step = max(4, int(side / rng.uniform(3, 8)))
            colour = tuple(float(c) for c in grey * rng.uniform(0.5, 1.4) + rng.uniform(-20, 20, 3))
            width = max(1, side // 128)
            for p in range(int(rng.integers(0, step)), side, step):
                cv2.line(tex, (p, 0), (p, side - 1), colour, width)
                cv2.line(tex, (0, p), (side - 1, p), colour, width)
        for _ in range(int(rng.integers(2, 6))):  # furniture-like blocks with a shaded edge
            x0, y0 = rng.integers(0, side, 2)
            w, h = rng.integers(side // 10, side // 3, 2)
            colour = rng.uniform(30, 220) + rng.uniform(-40, 40, 3)
            cv2.rectangle(tex, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), tuple(colour.tolist()), -1)
            cv2.rectangle(tex, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), tuple((colour * 0.6).tolist()),
                          max(1, side // 100))
        tex = cv2.GaussianBlur(tex, (0, 0), max(0.5, side / 512))
        tex += rng.normal(0, 3, tex.shape).astype(np.float32)  # fine grain
        out.append(np.clip(tex, 0, 255).astype(np.uint8))
    return tuple(out)


def lighting(rng: np.random.Generator, n_views: int) -> np.ndarray:
    """Per-view lighting draws (n_views, 8): texture id, texture offsets, bg gain, ambient, key, light dir."""
    return np.stack([
        rng.integers(0, N_TEXTURES, n_views).astype(float),
        rng.uniform(0, 1, n_views), rng.uniform(0, 1, n_views),
        rng.uniform(0.6, 1.1, n_views), rng.uniform(0.45, 0.7, n_views), rng.uniform(0.25, 0.5, n_views),
        rng.uniform(0, 2 * np.pi, n_views), rng.uniform(-15, 15, n_views),
    ], axis=1)


_LAYERS = np.array([  # (radius scale, shift towards the light in radii, ambient weight, key weight)
    (1.0, 0.0, 0.75, 0.0), (0.74, 0.17, 1.0, 0.5), (0.38, 0.36, 1.0, 1.0),
])
_PART_A, _PART_B, _PART_R = (np.array(column) for column in list(zip(*PARTS))[:3])
_HEAD = next(i for i, p in enumerate(PARTS) if p[3] == "head")


def render_view(
    uv: np.ndarray, depth: np.ndarray, focal: float, size: int, colours: dict[str, np.ndarray],
    girth: float, light: np.ndarray, seed: int,
) -> np.ndarray:
    """One RGB uint8 crop (size, size, 3) from joints and :func:`extra_points` ``uv`` (17 + N_EXTRA, 2) in
    crop pixels, their camera depths (mm), the crop focal length (px) and one row of :func:`lighting`."""
    tex_id, ox, oy, gain, ambient, key, angle, beta = light
    tex = background_textures(seed, size)[int(tex_id)]
    x0, y0 = int(ox * size), int(oy * size)
    img = cv2.convertScaleAbs(tex[y0 : y0 + size, x0 : x0 + size], alpha=float(gain), beta=float(beta))

    z = np.maximum(depth, 1.0)
    a, b = uv[_PART_A].astype(np.float64), uv[_PART_B].astype(np.float64)  # (P, 2)
    za, zb = z[_PART_A], z[_PART_B]
    r_mm = _PART_R * girth
    ra, rb = focal * r_mm / za, focal * r_mm / zb
    # the head is a sphere between neck/nose and head top
    centre = 0.5 * (a[_HEAD] + b[_HEAD])
    a[_HEAD] = b[_HEAD] = centre
    ra[_HEAD] = rb[_HEAD] = focal * r_mm[_HEAD] / (0.5 * (za[_HEAD] + zb[_HEAD]))
    zmid = 0.5 * (za + zb)
    fog = 1.0 - 0.45 * np.minimum(1.0, (zmid - zmid.min()) / 900.0)  # farther parts are darker
    base = np.stack([colours[p[3]] for p in PARTS]) * fog[:, None]  # (P, 3)

    light_dir = np.array([np.cos(angle), np.sin(angle)])
    d = b - a
    n = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)
    perp = np.stack([-d[:, 1], d[:, 0]], axis=1) / n[:, None]  # (P, 2)
    scale, shift, w_amb, w_key = (_LAYERS[:, i, None] for i in range(4))  # (L, 1)
    off = light_dir * (shift * 0.5 * (ra + rb))[..., None]  # (L, P, 2)
    la, lb = a + off, b + off
    lra, lrb = scale * ra, scale * rb  # (L, P)
    quads = np.stack([la + perp * lra[..., None], lb + perp * lrb[..., None],
                      lb - perp * lrb[..., None], la - perp * lra[..., None]], axis=2)  # (L, P, 4, 2)
    quads = (quads * _ONE).astype(np.int32)
    ends_a = (la * _ONE).astype(np.int64).tolist()
    ends_b = (lb * _ONE).astype(np.int64).tolist()
    rad_a = np.maximum(lra * _ONE, 1).astype(np.int64).tolist()
    rad_b = np.maximum(lrb * _ONE, 1).astype(np.int64).tolist()
    shade = (w_amb * ambient + w_key * key) * 1.2  # (L, 1)
    cols = np.minimum(base[None] * shade[..., None], 255.0).tolist()  # (L, P, 3)

    order = np.argsort(-zmid, kind="stable").tolist()  # far to near
    fill, circle = cv2.fillConvexPoly, cv2.circle
    for i in order:
        for layer in range(len(_LAYERS)):
            colour = cols[layer][i]
            if i != _HEAD:
                fill(img, quads[layer, i], colour, cv2.LINE_8, _SHIFT)
                circle(img, ends_b[layer][i], rad_b[layer][i], colour, -1, cv2.LINE_8, _SHIFT)
            circle(img, ends_a[layer][i], rad_a[layer][i], colour, -1, cv2.LINE_8, _SHIFT)
        if i == _HEAD:  # hair on the top of the head
            top = centre + 0.5 * (uv[PARTS[_HEAD][1]] - centre)
            hair = (colours["hair"] * fog[_HEAD] * (ambient + 0.3 * key)).tolist()
            circle(img, (int(top[0] * _ONE), int(top[1] * _ONE)), max(1, int(0.75 * ra[_HEAD] * _ONE)), hair,
                   -1, cv2.LINE_8, _SHIFT)
    return img
