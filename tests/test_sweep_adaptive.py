"""Adaptive sweep chunking (max_batch None/"auto"): out-of-memory -> halve and retry, remembered size."""

from __future__ import annotations

import warnings

import pytest
import torch
from attack_toys import ToyMonocular, make_batch

from poselab.attacks import IGSMU, AutoBatch, attack_mode, eps_sweep
from poselab.attacks.sweep import is_out_of_memory

EPS = [0.0, 1.0, 4.0, 16.0]
OOM_ERRORS = [
    lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    lambda: RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:117] . DefaultCPUAllocator: can't allocate memory: "
                         "you tried to allocate 123 bytes."),
]


def _setup(batch_size: int = 3):
    model = ToyMonocular().eval()
    batch = make_batch(batch_size, num_views=1)
    return model, batch, batch["images"].float(), model.pose_target(batch)


def _limited(model, limit: int, error=OOM_ERRORS[0], seen: list[int] | None = None):
    """make_fn whose pose function fails like an out-of-memory error above ``limit`` rows."""

    def make_fn(b):
        def fn(im):
            if seen is not None:
                seen.append(im.shape[0])
            if im.shape[0] > limit:
                raise error()
            return model(im, b)

        return fn

    return make_fn


def test_oom_errors_are_recognised_and_others_not() -> None:
    assert all(is_out_of_memory(make()) for make in OOM_ERRORS)
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


@pytest.mark.parametrize("error", OOM_ERRORS)
def test_adaptive_sweep_halves_on_oom_and_equals_the_unchunked_sweep(error) -> None:
    model, batch, x, ref = _setup(3)  # 4 eps x 3 samples = 12 rows
    attack = IGSMU(steps=4)
    plain = lambda b: (lambda im: model(im, b))  # noqa: E731
    auto, seen = AutoBatch(), []
    with attack_mode(model):
        reference = eps_sweep(attack, plain, x, batch, ref, EPS, record=[0, 2, 4], keep_images=True)
        swept = eps_sweep(attack, _limited(model, 5, error, seen), x, batch, ref, EPS, record=[0, 2, 4],
                          max_batch=auto, keep_images=True)
        alone = [eps_sweep(attack, plain, x, batch, ref, [e], record=[4], keep_images=True) for e in EPS]
    assert seen[0] == 12 and auto.size is not None and auto.size <= 5  # 12 -> 6 -> 3
    assert torch.equal(swept.adversarial, reference.adversarial)  # bit-identical images
    for t in (0, 2, 4):  # poses: only the float rounding of batch-size-dependent GEMMs differs
        assert swept.outputs[t]["pose"].shape == reference.outputs[t]["pose"].shape
        assert torch.allclose(swept.outputs[t]["pose"], reference.outputs[t]["pose"], atol=1e-3)
    for i in range(len(EPS)):  # and equal to running each eps alone
        assert torch.equal(swept.adversarial[i], alone[i].adversarial[0])
        assert torch.allclose(swept.outputs[4]["pose"][i], alone[i].outputs[4]["pose"][0], atol=1e-3)


def test_remembered_size_is_not_reprobed_and_logged_once() -> None:
    model, batch, x, ref = _setup(4)
    auto = AutoBatch()
    seen: list[int] = []
    with attack_mode(model), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = 0
        for _ in range(3):  # e.g. three test batches of the callback
            eps_sweep(IGSMU(steps=2), _limited(model, 7, seen=seen), x, batch, ref, EPS, max_batch=auto)
            first = first or len(seen)
        assert auto.size == 4  # 16 -> 8 -> 4
    assert seen[0] == 16 and max(seen[first:]) <= 4, "later sweeps must start from the remembered size"
    assert sum("rows (eps x targets x samples) per pass" in str(w.message) for w in caught) == 1


def test_fixed_max_batch_does_not_catch_oom_and_other_errors_propagate() -> None:
    model, batch, x, ref = _setup(2)
    with attack_mode(model):
        with pytest.raises(torch.cuda.OutOfMemoryError):  # an explicit integer is a hard cap, as before
            eps_sweep(IGSMU(steps=1), _limited(model, 3), x, batch, ref, EPS, max_batch=8)
        with pytest.raises(torch.cuda.OutOfMemoryError):  # not even one row fits: re-raised
            eps_sweep(IGSMU(steps=1), _limited(model, 0), x, batch, ref, EPS, max_batch=None)
        boom = lambda b: (lambda im: (_ for _ in ()).throw(RuntimeError("shape mismatch")))  # noqa: E731
        with pytest.raises(RuntimeError, match="shape mismatch"):
            eps_sweep(IGSMU(steps=1), boom, x, batch, ref, EPS, max_batch=AutoBatch())
        for bad in (0, -1, 2.5, True, "auto"):
            with pytest.raises(ValueError, match="max_batch"):
                eps_sweep(IGSMU(steps=1), _limited(model, 99), x, batch, ref, EPS, max_batch=bad)
