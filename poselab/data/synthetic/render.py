"""OpenCV renderer: shaded, depth-ordered capsules drawn directly into each view's crop.

Each body part is a capsule (two circles joined by a quad) whose ends are the projected joints (crop
pixels, distorted like the image) and whose pixel radius is ``f * radius_mm / depth_mm`` (perspective).
Parts are painted far to near (painter's algorithm), each in three layers (shadowed rim, lit body,
highlight shifted towards the light) and darkened with depth, over a textured background sliced from
textures precomputed per (seed, size). Everything random comes from the caller's generator.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from poselab.data.synthetic.pose import Subject

_SHIFT = 4  # fixed-point bits for sub-pixel drawing
_ONE = 1 << _SHIFT

# (joint a, joint b, radius mm, colour key); colour keys resolve per subject (see part_colours)
PARTS: tuple[tuple[int, int, float, str], ...] = (
    (0, 7, 125.0, "shirt"), (7, 8, 140.0, "shirt"), (1, 4, 95.0, "pants"), (11, 14, 70.0, "shirt"),
    (1, 2, 72.0, "pants_r"), (2, 3, 52.0, "pants_r"), (4, 5, 72.0, "pants_l"), (5, 6, 52.0, "pants_l"),
    (14, 15, 46.0, "shirt_r"), (15, 16, 36.0, "skin_r"), (11, 12, 46.0, "shirt_l"), (12, 13, 36.0, "skin_l"),
    (8, 9, 45.0, "skin"), (9, 10, 95.0, "head"),
)
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
        "hair": np.array(subject.hair, float),
    }


@lru_cache(maxsize=8)
def background_textures(seed: int, size: int) -> tuple[np.ndarray, ...]:
    """``N_TEXTURES`` RGB uint8 textures (2*size, 2*size, 3): smooth noise, tiles and stripes."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(size), 101])
    side = 2 * size
    out = []
    for k in range(N_TEXTURES):
        base = rng.uniform(40, 200, 3)
        tex = np.empty((side, side, 3), np.float32)
        tex[:] = base
        for octave in (4, 16, 64):  # multi-scale smooth noise
            cells = min(octave, side)
            noise = rng.normal(0, 40.0 / np.sqrt(octave / 4), (cells, cells, 3)).astype(np.float32)
            tex += cv2.resize(noise, (side, side), interpolation=cv2.INTER_CUBIC)
        if k % 2 == 0:  # floor tiles / wall panels
            step = max(4, int(side / rng.uniform(3, 8)))
            colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
            width = max(1, side // 128)
            for p in range(0, side, step):
                cv2.line(tex, (p, 0), (p, side - 1), colour, width)
                cv2.line(tex, (0, p), (side - 1, p), colour, width)
        for _ in range(int(rng.integers(2, 6))):  # furniture-like blocks
            x0, y0 = rng.integers(0, side, 2)
            w, h = rng.integers(side // 10, side // 3, 2)
            colour = tuple(float(c) for c in rng.uniform(20, 235, 3))
            cv2.rectangle(tex, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), colour, -1)
        tex = cv2.GaussianBlur(tex, (0, 0), max(0.5, side / 512))
        tex += rng.normal(0, 6, tex.shape).astype(np.float32)  # fine grain
        out.append(np.clip(tex, 0, 255).astype(np.uint8))
    return tuple(out)


def lighting(rng: np.random.Generator, n_views: int) -> np.ndarray:
    """Per-view lighting draws (n_views, 8): texture id, texture offsets, bg gain, ambient, key, light dir."""
    return np.stack([
        rng.integers(0, N_TEXTURES, n_views).astype(float),
        rng.uniform(0, 1, n_views), rng.uniform(0, 1, n_views),
        rng.uniform(0.55, 1.25, n_views), rng.uniform(0.45, 0.7, n_views), rng.uniform(0.25, 0.5, n_views),
        rng.uniform(0, 2 * np.pi, n_views), rng.uniform(-25, 25, n_views),
    ], axis=1)


def _capsule(img: np.ndarray, a: np.ndarray, b: np.ndarray, ra: float, rb: float, colour: tuple) -> None:
    """Fill a capsule between pixel points a, b with end radii ra, rb (pixels)."""
    d = b - a
    n = np.hypot(d[0], d[1])
    ia = (int(a[0] * _ONE), int(a[1] * _ONE))
    ib = (int(b[0] * _ONE), int(b[1] * _ONE))
    if n > 1e-6:
        perp = np.array([-d[1], d[0]]) / n
        quad = np.array([a + perp * ra, b + perp * rb, b - perp * rb, a - perp * ra]) * _ONE
        cv2.fillConvexPoly(img, quad.astype(np.int32), colour, cv2.LINE_8, _SHIFT)
    cv2.circle(img, ia, max(1, int(ra * _ONE)), colour, -1, cv2.LINE_8, _SHIFT)
    cv2.circle(img, ib, max(1, int(rb * _ONE)), colour, -1, cv2.LINE_8, _SHIFT)


def render_view(
    uv: np.ndarray, depth: np.ndarray, focal: float, size: int, colours: dict[str, np.ndarray],
    girth: float, light: np.ndarray, seed: int,
) -> np.ndarray:
    """One RGB uint8 crop (size, size, 3).

    Args:
        uv: (17, 2) joints in crop pixels (distorted, as the camera sees them).
        depth: (17,) camera-space depths (mm).
        focal: crop focal length (px) used for perspective radii.
        colours: :func:`part_colours` of the subject; girth scales all radii.
        light: one row of :func:`lighting`.
        seed: dataset seed (selects the background textures).
    """
    tex_id, ox, oy, gain, ambient, key, angle, beta = light
    tex = background_textures(seed, size)[int(tex_id)]
    x0, y0 = int(ox * size), int(oy * size)
    img = cv2.convertScaleAbs(tex[y0 : y0 + size, x0 : x0 + size], alpha=float(gain), beta=float(beta))
    light_dir = np.array([np.cos(angle), np.sin(angle)])
    z = np.maximum(depth, 1.0)
    z_near = float(z.min())
    order = sorted(range(len(PARTS)), key=lambda i: -(z[PARTS[i][0]] + z[PARTS[i][1]]))
    for i in order:
        ja, jb, radius, ckey = PARTS[i]
        r_mm = radius * girth
        ra, rb = focal * r_mm / z[ja], focal * r_mm / z[jb]
        a, b = uv[ja], uv[jb]
        if ckey == "head":  # a sphere between neck/nose and head top, with hair on the far top
            centre = 0.5 * (a + b)
            r = focal * 0.9 * radius * (1.0 + 0.15 * (girth - 1)) / (0.5 * (z[ja] + z[jb]))
            a = b = centre
            ra = rb = r
        fog = 1.0 - 0.5 * min(1.0, (0.5 * (z[ja] + z[jb]) - z_near) / 900.0)
        base = colours[ckey] * fog
        layers = ((1.0, 0.0, ambient * 0.75), (0.72, 0.18, ambient + 0.5 * key), (0.35, 0.38, ambient + key))
        for scale, shift, shade in layers:
            off = light_dir * shift * 0.5 * (ra + rb)
            colour = tuple(float(c) for c in np.minimum(base * shade * 1.25, 255.0))
            _capsule(img, a + off, b + off, ra * scale, rb * scale, colour)
        if ckey == "head":
            hair = colours["hair"] * fog * ambient
            top = centre + 0.45 * (uv[jb] - centre)
            cv2.circle(img, (int(top[0] * _ONE), int(top[1] * _ONE)), max(1, int(0.8 * ra * _ONE)),
                       tuple(float(c) for c in hair), -1, cv2.LINE_8, _SHIFT)
    return img
