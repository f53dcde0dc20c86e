"""Pose metrics: hand-made cases, invariances, and a 2-process (gloo) reduction."""

import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from scipy.spatial.transform import Rotation

from poselab.metrics import (
    DEFAULT_JDR,
    JDR,
    MPJPE,
    PMPJPE,
    FailureCount,
    TargetMPJPE,
    mpjpe,
    pmpjpe,
)


def test_mpjpe_zero_for_itself_and_for_translation():
    x = torch.randn(8, 17, 3) * 300
    m = MPJPE()
    m.update(x, x)
    assert m.compute() == 0
    m = MPJPE()
    m.update(x + torch.tensor([3.0, 4.0, 0.0]), x)
    assert m.compute() < 1e-4
    # without root alignment the shift shows: exactly 5 mm
    m = MPJPE(root=None)
    m.update(x.double() + torch.tensor([3.0, 4.0, 0.0], dtype=torch.float64), x.double())
    assert torch.isclose(m.compute(), torch.tensor(5.0, dtype=torch.float64))


def test_mpjpe_matches_numpy_reference_and_per_joint():
    pred, gt = torch.randn(5, 17, 3) * 100, torch.randn(5, 17, 3) * 100
    m = MPJPE()
    m.update(pred[:2], gt[:2])
    m.update(pred[2:], gt[2:])
    p = pred.numpy() - pred.numpy()[:, :1]
    g = gt.numpy() - gt.numpy()[:, :1]
    per_joint = np.linalg.norm(p - g, axis=-1)
    assert np.isclose(m.compute().item(), per_joint.mean(), rtol=1e-6)
    np.testing.assert_allclose(m.compute_per_joint().numpy(), per_joint.mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mpjpe(pred, gt).numpy(), per_joint.mean(-1), rtol=1e-5)


def test_pmpjpe_invariant_to_similarity_of_prediction():
    gt = torch.randn(6, 17, 3, dtype=torch.float64) * 300
    pred = gt + torch.randn_like(gt) * 30
    base = pmpjpe(pred, gt)
    R = torch.tensor(Rotation.random(6, random_state=3).as_matrix())
    moved = 2.5 * pred @ R.transpose(-1, -2) + torch.tensor([100.0, -40.0, 900.0], dtype=torch.float64)
    torch.testing.assert_close(pmpjpe(moved, gt), base)
    assert (base < mpjpe(pred, gt) + 1e-9).all()  # alignment can only lower the error
    m = PMPJPE()
    m.update(moved, gt)
    assert torch.isclose(m.compute(), base.mean())


def test_jdr_hand_made_cases():
    gt = torch.zeros(2, 17, 2)
    gt[:, 10] = torch.tensor([0.0, -40.0])  # head top 40 px above the neck (joint 8) -> threshold 20 px
    j = JDR(definition="head_thorax")
    j.update(gt + 5.0, gt)  # every joint 7.07 px off: all detected
    assert j.compute() == 1.0
    moved = gt.clone()
    moved[:, ::2] += 30.0  # 9 of 17 joints moved 42 px
    j = JDR(definition="head_thorax")
    j.update(moved, gt)
    assert torch.isclose(j.compute(), torch.tensor(8 / 17, dtype=torch.float64))
    half = gt.clone()
    half[0] += 100.0  # one of two samples entirely off
    j = JDR(definition="head_thorax")
    j.update(half, gt)
    assert j.compute() == 0.5
    j = JDR(threshold=200.0)
    j.update(half, gt)
    assert j.compute() == 1.0
    with pytest.raises(ValueError, match="threshold"):
        JDR(threshold=-1)


def test_jdr_definitions_against_multiview_h36m_evaluate():
    """qiu2019 (the default) equals the numpy ``evaluate`` of
    microsoft/multiview-human-pose-estimation-pytorch (``headsize = image_size / 10``,
    ``distance <= headsize * 0.5``); head_thorax is per sample with ``<``."""
    g = np.random.default_rng(4)
    image_size = 80  # threshold 4 px
    gt = g.integers(0, image_size, size=(50, 17, 2)).astype(np.float64)
    pred = gt + g.normal(size=gt.shape) * 3.0
    pred[0, :4] = gt[0, :4] + np.array([4.0, 0.0])  # exactly on the threshold: detected with <=
    distance = np.sqrt(((gt - pred) ** 2).sum(axis=2))
    ref = (distance <= image_size / 10.0 * 0.5).mean()
    j = JDR()
    assert j.definition == DEFAULT_JDR == "qiu2019"
    j.update(torch.tensor(pred), torch.tensor(gt), image_size=image_size)
    assert float(j.compute()) == pytest.approx(ref, abs=1e-12)
    assert 0.3 < ref < 0.9 and (distance[0, :4] == 4.0).all()
    fixed = JDR(image_size=image_size)  # the size may also be given once
    fixed.update(torch.tensor(pred), torch.tensor(gt))
    assert float(fixed.compute()) == pytest.approx(ref, abs=1e-12)
    head = np.linalg.norm(gt[:, 10] - gt[:, 8], axis=-1)
    ref_head = (distance < 0.5 * head[:, None]).mean()
    h = JDR(definition="head_thorax")
    h.update(torch.tensor(pred), torch.tensor(gt))
    assert float(h.compute()) == pytest.approx(ref_head, abs=1e-12)
    with pytest.raises(ValueError, match="image size"):
        JDR().update(torch.tensor(pred), torch.tensor(gt))
    with pytest.raises(ValueError, match="jdr_definition must be one of qiu2019, head_thorax"):
        JDR(definition="pck")


def test_invalid_samples_are_skipped_and_counted():
    gt = torch.randn(4, 17, 3) * 100
    pred = gt.clone()
    pred[1] = float("nan")
    pred[2] += 50.0 * torch.randn(17, 3)
    valid = torch.tensor([True, True, False, True])
    m = MPJPE()
    m.update(pred, gt, valid)
    assert m.compute() == 0 and m.n_invalid == 2 and m.count == 2
    f = FailureCount()
    f.update(valid, pred)
    assert f.compute() == 2 and f.total == 4
    per_joint = torch.ones(4, 17, dtype=torch.bool)
    per_joint[3, 5] = False
    f = FailureCount()
    f.update(per_joint, pred)
    assert f.compute() == 2  # sample 1 (NaN) and sample 3 (one joint invalid)


def test_target_mpjpe_and_shape_errors():
    target = torch.randn(3, 17, 3)
    t = TargetMPJPE()
    t.update(target, target)
    assert t.compute() == 0
    with pytest.raises(ValueError, match="shape"):
        MPJPE().update(torch.zeros(2, 17, 3), torch.zeros(2, 16, 3))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, pred, gt, valid, out) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    metrics = [MPJPE(), PMPJPE(), JDR(), FailureCount(), TargetMPJPE()]
    sl = slice(rank, None, world)
    _update(metrics, pred[sl], gt[sl], valid[sl])
    values = _values(metrics)
    if rank == 0:
        out.extend(values)
    dist.destroy_process_group()


def _update(metrics, pred, gt, valid) -> None:
    """MPJPE, PMPJPE, JDR (x, y as 2D), FailureCount, TargetMPJPE (target = gt shifted by 50 mm in x)."""
    metrics[0].update(pred, gt, valid)
    metrics[1].update(pred, gt, valid)
    metrics[2].update(pred[..., :2], gt[..., :2], valid, image_size=256)
    metrics[3].update(valid, pred)
    metrics[4].update(pred, gt + torch.tensor([50.0, 0.0, 0.0]) * torch.arange(17)[:, None] / 16, valid)


def _values(metrics) -> list[float]:
    """Scalars of every metric, then the per-joint breakdowns of the joint-averaged ones."""
    values = [float(m.compute()) for m in metrics]
    for m in (metrics[0], metrics[1], metrics[2], metrics[4]):
        values += m.compute_per_joint().double().tolist()
    return values


def test_metrics_reduce_across_two_processes():
    g = torch.Generator().manual_seed(1)
    gt = torch.randn(10, 17, 3, generator=g) * 200
    pred = gt + torch.randn(10, 17, 3, generator=g) * 40
    valid = torch.tensor([True] * 7 + [False] * 3)
    single = [MPJPE(), PMPJPE(), JDR(), FailureCount(), TargetMPJPE()]
    _update(single, pred, gt, valid)
    expected = _values(single)
    assert len(expected) == 5 + 4 * 17
    with mp.Manager() as manager:
        out = manager.list()
        mp.spawn(_worker, args=(2, _free_port(), pred, gt, valid, out), nprocs=2, join=True)
        got = list(out)
    np.testing.assert_allclose(got, expected, rtol=1e-9)
