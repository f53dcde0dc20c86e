"""Attacks: budgets, exactness, eps-batched sweeps, a literal IGSM reference, targets, trends."""

from __future__ import annotations

import math

import pytest
import torch
from attack_toys import ToyMonocular, ToyTriangulation, bone_lengths, make_batch, train_monocular

from poselab.attacks import FGSM, IGSMT, IGSMU, attack_mode, clone_tensors, eps_sweep
from poselab.attacks.targets import camera_swap_target, rotation_target, vertical_axis


@pytest.fixture(scope="module")
def trained() -> ToyMonocular:
    return train_monocular()


def _mono(batch_size: int = 3):
    model = ToyMonocular().eval()
    batch = make_batch(batch_size, num_views=1)
    return model, batch, batch["images"].float(), model.pose_target(batch)


@pytest.mark.parametrize("attack", [FGSM(0.0), IGSMU(0.0, steps=3), IGSMT(0.0, steps=3)])
def test_eps_zero_reproduces_clean(attack) -> None:
    model, batch, x, ref = _mono()
    with attack_mode(model):
        adv = attack(lambda im: model(im, batch), x, ref)
        assert torch.equal(adv, x)
        assert torch.equal(model(adv, batch)["pose"], model(x, batch)["pose"])


def test_adversarial_images_within_budget_and_range() -> None:
    model, batch, x, ref = _mono(4)
    x[0, 0, :, :4] = 0.0  # pixels at the range limits must stay inside 0..255
    x[1, 0, :, :4] = 255.0
    eps = torch.tensor([0.25, 4.0, 16.0, 32.0])
    for attack in (FGSM(), IGSMU(steps=5), IGSMT(steps=5, random_start=True)):
        adv = attack(lambda im: model(im, batch), x, ref, eps=eps)
        linf = (adv - x).abs().flatten(1).amax(1)
        assert (linf <= eps + 1e-4).all()
        assert adv.min() >= 0 and adv.max() <= 255
        assert (linf > 0).all()  # it did move


def _literal_igsm(model, batch, x0, ref, eps, alpha, steps, sign):
    """x_{t+1} = clip_{0,255}(clip_{x0,eps}(x_t + sign * alpha * sign(grad MPJPE))), written out."""
    x = x0.clone()
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        pred = model(x, batch)["pose"]
        p = pred - pred[..., :1, :]
        r = ref - ref[..., :1, :]
        loss = torch.linalg.norm(p - r, dim=-1).mean(dim=(1, 2)).sum()  # sqrt would give NaN at the root
        (g,) = torch.autograd.grad(loss, x)
        x = x.detach() + sign * alpha * torch.sign(g)
        x = torch.max(torch.min(x, x0 + eps), x0 - eps)
        x = torch.clamp(x, 0, 255)
    return x.detach()


@pytest.mark.parametrize("targeted", [False, True])
def test_igsm_matches_literal_formula(targeted: bool) -> None:
    model, batch, x, ref = _mono()
    if targeted:
        ref = ref.flip(0)
    cls = IGSMT if targeted else IGSMU
    with attack_mode(model):
        ours = cls(eps=4.0, steps=6)(lambda im: model(im, batch), x, ref)
        ref_x = _literal_igsm(model, batch, x, ref, 4.0, 0.5, 6, -1.0 if targeted else 1.0)
    assert torch.allclose(ours, ref_x, atol=1e-4)  # float rounding of the clip bounds only
    assert (ours - x).abs().max() > 2.9  # 6 steps of 0.5 px


def test_fgsm_is_one_step_of_eps() -> None:
    model, batch, x, ref = _mono()
    with attack_mode(model):
        ours = FGSM(2.0)(lambda im: model(im, batch), x, ref)
        ref_x = _literal_igsm(model, batch, x, ref, 2.0, 2.0, 1, 1.0)
    assert torch.allclose(ours, ref_x, atol=1e-4)


@pytest.mark.parametrize("max_batch", [None, 5])
def test_eps_batched_sweep_equals_per_eps_runs(max_batch) -> None:
    model, batch, x, ref = _mono(3)
    eps = [0.0, 1.0, 4.0, 16.0]
    attack = IGSMU(steps=10)
    make_fn = lambda b: (lambda im: model(im, b))  # noqa: E731
    with attack_mode(model):
        swept = eps_sweep(attack, make_fn, x, batch, ref, eps, record=[0, 3, 10], max_batch=max_batch,
                          keep_images=True)
        for i, e in enumerate(eps):
            alone = eps_sweep(attack, make_fn, x, batch, ref, [e], record=[0, 3, 10], keep_images=True)
            assert torch.equal(swept.adversarial[i], alone.adversarial[0])  # bit-identical images
            for t in (0, 3, 10):  # poses: only the float rounding of batch-size-dependent GEMMs differs
                assert torch.allclose(swept.outputs[t]["pose"][i], alone.outputs[t]["pose"][0], atol=1e-3)
        # recording at t=3 of a 10-step run equals a 3-step run (same alpha = eps/8)
        short = eps_sweep(IGSMU(steps=3), make_fn, x, batch, ref, eps, max_batch=max_batch)
        assert torch.allclose(short.outputs[3]["pose"], swept.outputs[3]["pose"], atol=1e-3)


def test_multiview_unattacked_views_bit_identical() -> None:
    model = ToyTriangulation().eval()
    batch = make_batch(2)
    x = batch["images"].float()
    with attack_mode(model):
        adv = IGSMU(eps=8.0, steps=3)(lambda im: model(im, batch), x, model.pose_target(batch),
                                      view_mask=torch.tensor([True, False, True, False]))
    assert torch.equal(adv[:, 1], x[:, 1]) and torch.equal(adv[:, 3], x[:, 3])
    assert (adv[:, 0] != x[:, 0]).any() and (adv[:, 2] != x[:, 2]).any()


def test_nan_outputs_do_not_poison_the_attack() -> None:
    model, batch, x, ref = _mono(2)

    def fn(im):
        pose = model(im, batch)["pose"]
        return torch.cat([pose[:1] * float("nan"), pose[1:]])

    adv = IGSMU(eps=4.0, steps=3)(fn, x, ref)
    assert torch.isfinite(adv).all()
    assert torch.equal(adv[0], x[0]) and not torch.equal(adv[1], x[1])


def test_attack_mode_freezes_and_restores_the_model_under_inference_mode() -> None:
    model, batch, _, _ = _mono(2)
    model.train()
    model.net.body[0].weight.requires_grad_(True)
    model.net.body[3].bias.requires_grad_(False)
    with torch.inference_mode():
        batch_inf = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in batch.items()}
        with attack_mode(model):
            assert not model.training
            b = clone_tensors(batch_inf)
            adv = IGSMU(eps=2.0, steps=2)(lambda im: model(im, b), b["images"].float(), model.pose_target(b))
            assert all(not p.requires_grad for p in model.parameters())
    assert model.training
    assert model.net.body[0].weight.requires_grad and not model.net.body[3].bias.requires_grad
    assert all(p.grad is None for p in model.parameters())
    assert (adv != batch["images"].float()).any()


def test_invalid_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="eps"):
        IGSMU(eps=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        IGSMU(alpha=0.0)
    with pytest.raises(ValueError, match="alpha_ratio"):
        IGSMU(alpha_ratio=-0.1)
    with pytest.raises(ValueError, match="steps"):
        IGSMU(steps=0)
    with pytest.raises(ValueError, match="unknown attack loss"):
        FGSM(loss="hinge")
    model, batch, x, ref = _mono(2)
    with pytest.raises(ValueError, match="view_mask"):
        FGSM()(lambda im: model(im, batch), x, ref, view_mask=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="eps"):
        eps_sweep(FGSM(), lambda b: (lambda im: model(im, b)), x, batch, ref, [1.0, -2.0])


def test_camera_swap_target_is_pose_in_camera_k() -> None:
    batch = make_batch(3)
    cam = batch["joints_cam"]
    for k in (1, 2, 3):
        target = camera_swap_target(cam[:, 0], batch["R"][:, 0], batch["R"][:, k])
        expected = cam[:, k] - cam[:, k, :1]  # independent: the ground truth seen by camera k
        assert torch.allclose(target, expected, atol=1e-2)
        assert not torch.allclose(target, cam[:, 0] - cam[:, 0, :1], atol=10.0)


def test_rotation_target_keeps_bones_and_pelvis_and_turns_about_vertical() -> None:
    batch = make_batch(3)
    pose = batch["joints_cam"][:, 0]
    axis = vertical_axis(batch["R"][:, 0])
    for deg in (10.0, 30.0):
        rot = rotation_target(pose, deg, axis)
        assert torch.allclose(bone_lengths(rot), bone_lengths(pose), atol=1e-2)
        assert torch.allclose(rot[:, 0], pose[:, 0])
        # heights (component along the vertical axis) are unchanged, horizontal offsets turn by deg
        assert torch.allclose(((rot - rot[:, :1]) * axis[:, None]).sum(-1),
                              ((pose - pose[:, :1]) * axis[:, None]).sum(-1), atol=1e-2)
    world = batch["joints_world"]
    rot90 = rotation_target(world, 90.0, torch.tensor([0.0, 0.0, 1.0]))
    rel, rel90 = world - world[:, :1], rot90 - rot90[:, :1]
    assert torch.allclose(rel90[..., 0], -rel[..., 1], atol=1e-2)  # x' = -y, y' = x about world z
    assert torch.allclose(rel90[..., 1], rel[..., 0], atol=1e-2)
    assert math.isclose(float(vertical_axis(batch["R"][:, 0]).norm(dim=-1)[0]), 1.0, rel_tol=1e-5)


def test_trained_model_untargeted_error_grows(trained: ToyMonocular) -> None:
    batch = make_batch(16, num_views=1, seed=7)
    x, ref = batch["images"].float(), trained.pose_target(batch)
    with attack_mode(trained):
        out = eps_sweep(IGSMU(steps=10), lambda b: (lambda im: trained(im, b)), x, batch, ref,
                        [0.0, 8.0], record=[0, 10])
    err = (out.outputs[10]["pose"] - ref).norm(dim=-1).mean(dim=(1, 2, 3))
    assert err[1] > 1.5 * err[0]
    fgsm = FGSM(8.0)(lambda im: trained(im, batch), x, ref)
    assert (trained(fgsm, batch)["pose"] - ref).norm(dim=-1).mean() > err[0]


def test_trained_model_targeted_distance_shrinks_with_iterations(trained: ToyMonocular) -> None:
    batch = make_batch(8, num_views=1, seed=8)
    x = batch["images"].float()
    target = rotation_target(trained.pose_target(batch), 30.0, vertical_axis(batch["R"]))
    with attack_mode(trained):
        out = eps_sweep(IGSMT(steps=100), lambda b: (lambda im: trained(im, b)), x, batch, target, [8.0],
                        record=[0, 20, 100])
    dist = {t: float((out.outputs[t]["pose"] - target).norm(dim=-1).mean()) for t in (0, 20, 100)}
    assert dist[20] < dist[0] and dist[100] < dist[20], dist


def test_joints_2d_loss_attacks_the_per_view_2d_estimates() -> None:
    torch.manual_seed(1)
    model = ToyTriangulation().eval()
    batch = make_batch(2)
    x, gt_2d = batch["images"].float(), batch["joints_2d"]
    with attack_mode(model):
        adv = IGSMU(eps=16.0, steps=5, loss="joints_2d")(lambda im: model(im, batch), x, gt_2d)
        err = [float((model(im, batch)["joints_2d"] - gt_2d).norm(dim=-1).mean()) for im in (x, adv)]
    assert err[1] > err[0]


def test_l2_attack_stays_in_its_ball_and_range() -> None:
    """norm = "l2": the same hooks over an L2 ball (per-sample norm over views, channels and pixels)."""
    from poselab.attacks import IGSM

    class IGSML2(IGSM):
        name = "igsm_l2"
        norm = "l2"

    model, batch, x, ref = _mono(3)
    x[0, 0, :, :4] = 255.0
    eps = torch.tensor([50.0, 200.0, 800.0])
    adv = IGSML2(steps=4, alpha=100.0, random_start=True)(lambda im: model(im, batch), x, ref, eps=eps,
                                                          generator=torch.Generator().manual_seed(0))
    l2 = (adv - x).flatten(1).norm(dim=1)
    assert (l2 <= eps * (1 + 1e-5)).all() and (l2 > 0).all() and l2[0] > 0.5 * eps[0]  # 4 x 100 px >> 50
    assert adv.min() >= 0 and adv.max() <= 255


def test_registered_attacks_and_their_goals() -> None:
    from poselab.attacks import PGD, attack_names, get_attack

    assert {"fgsm", "igsm_u", "igsm_t", "pgd"} <= set(attack_names())
    assert get_attack("pgd") is PGD and PGD().random_start and not IGSMU().random_start
    assert IGSMT().targeted and not IGSMU().targeted and FGSM(targeted=True).targeted
    with pytest.raises(ValueError, match="igsm_u is an untargeted attack"):
        IGSMU(targeted=True)
    with pytest.raises(ValueError, match="fgsm runs exactly 1 step"):
        FGSM(steps=3)
    with pytest.raises(ValueError, match="unknown attack 'no_such_attack'.*register_attack"):
        get_attack("no_such_attack")
