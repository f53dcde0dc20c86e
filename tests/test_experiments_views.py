"""Multi-view experiment on explicit view subsets: validation, bit-identical other views, row encoding."""

from __future__ import annotations

import pytest
import torch
from attack_toys import ToyTriangulation, make_batch

from poselab.attacks import IGSMU, attack_mode, clone_tensors, eps_sweep
from poselab.experiments import AttackConfigError, build_experiment
from poselab.experiments.adversarial import view_setting
from poselab.experiments.runner import RunContext, run_experiment, view_mask
from poselab.reporting.report import report_tables, tables_markdown
from poselab.results.reader import run_from_rows


def test_views_accept_counts_and_subsets_and_encode_them() -> None:
    spec = build_experiment(kind="multiview", attacked_views=[2, [3, 1], [0]], eps=[0, 4], iterations=[1])
    assert spec.attacked_views == [2, [1, 3], [0]]  # subsets sorted
    assert [view_setting(v) for v in spec.attacked_views] == [(2, ""), (2, "1+3"), (1, "0")]
    assert view_mask([1, 3], 4).tolist() == [False, True, False, True]
    assert view_mask(2, 4).tolist() == [True, True, False, False]
    cells = spec.cells(multiview=True, num_views=4)
    assert {(c.attacked_views, c.view_set) for c in cells if c.attack != "clean"} == {(2, ""), (2, "1+3"),
                                                                                      (1, "0")}
    assert {(c.attacked_views, c.view_set) for c in cells if c.attack == "clean"} == {(0, "")}
    assert len(set(cells)) == len(cells)


@pytest.mark.parametrize(
    ("views", "match"),
    [
        ([[]], "empty"),
        ([[-1]], "negative indices"),
        ([[1, 1]], "repeats a view index"),
        ([[0, 2], [2, 0]], "more than once: 0\\+2"),
        ([2, 2], "more than once: 2"),
        ([[0.5]], "integer view indices"),
        (["0+2"], "attacked_views entries"),
        ([0, 2], "attacked views must be >= 1"),
        ("12", "attacked_views must be a list"),
    ],
)
def test_bad_view_subsets_raise_clear_errors(views, match) -> None:
    with pytest.raises(AttackConfigError, match=match):
        build_experiment(kind="multiview", attacked_views=views)


def test_subset_needs_enough_views_in_the_data() -> None:
    """View counts and indices are checked against the data's views, not a default."""
    spec = build_experiment(kind="multiview", attacked_views=[[0, 3]])
    spec.check_views(4, multiview=True)
    with pytest.raises(AttackConfigError, match=r"outside 0\.\.2, the test data has 3 views"):
        spec.check_views(3, multiview=True)
    spec = build_experiment(kind="multiview", attacked_views=[1, 5])
    spec.check_views(5, multiview=True)
    with pytest.raises(AttackConfigError, match="need 5 views, but the test data has 4 views"):
        spec.check_views(4, multiview=True)


def test_unattacked_views_of_a_subset_stay_bit_identical() -> None:
    model = ToyTriangulation().eval()
    batch = make_batch(2)
    x = batch["images"].float()
    make_fn = lambda b: (lambda im: model(im, b))  # noqa: E731
    with attack_mode(model):
        res = eps_sweep(IGSMU(steps=3), make_fn, x, batch, model.pose_target(batch), [0.0, 2.0, 8.0],
                        view_mask=view_mask([1, 3], 4), max_batch=4, keep_images=True)
    adv = res.adversarial  # (E, B, V, 3, H, W)
    for v in (0, 2):
        assert torch.equal(adv[:, :, v], x.expand_as(adv)[:, :, v])
    assert torch.equal(adv[0], x)  # eps 0
    assert (adv[2, :, 1] != x[:, 1]).any() and (adv[2, :, 3] != x[:, 3]).any()


def test_run_experiment_reports_subset_rows_and_keeps_other_views() -> None:
    model = ToyTriangulation().eval()
    batch = make_batch(2)
    spec = build_experiment(kind="multiview", attacked_views=[[1, 3], 2], eps=[0, 8], iterations=[1, 2])
    got: dict = {}
    sink: list = []
    ctx = RunContext(model=model, update=lambda cell, *args, **kw: got.setdefault(cell, args), max_batch=None,
                     examples=2, example_sink=sink)
    with attack_mode(model):
        run_experiment(spec, clone_tensors(batch), ctx)
    assert set(got) == set(spec.cells(multiview=True, num_views=4))
    subset = [c for c in got if c.view_set == "1+3"]
    assert subset and all(c.attacked_views == 2 and c.attack != "clean" for c in subset)
    # the example panel shows the last views entry (first 2 views): 2, 3 untouched; then check the subset
    assert all(torch.equal(ex.adversarial[2:], ex.clean[2:]) for ex in sink)
    sink.clear()
    spec = build_experiment(kind="multiview", attacked_views=[[1, 3]], eps=[8], iterations=[2])
    with attack_mode(model):
        run_experiment(spec, clone_tensors(batch), ctx)
    assert len(sink) == 2 and "views=1+3" in sink[0].title
    for ex in sink:
        assert torch.equal(ex.adversarial[0], ex.clean[0]) and torch.equal(ex.adversarial[2], ex.clean[2])
        assert not torch.equal(ex.adversarial[1], ex.clean[1])
        assert not torch.equal(ex.adversarial[3], ex.clean[3])


def _row(attack, eps, it, views, metric, value, view_set=None):
    r = {"model": "toytri", "dataset": "toy", "experiment": "multiview", "attack": attack, "eps": eps,
         "iterations": it, "attacked_views": views, "target": "", "metric": metric, "value": value, "n": 2}
    if view_set is not None:
        r["view_set"] = view_set
    return r


def _tables(rows) -> str:
    return tables_markdown(report_tables([run_from_rows(rows, {}, label="toytri")]))


def test_tables_and_figures_keep_the_count_form_and_show_subsets(tmp_path) -> None:
    from poselab.reporting.figures import FIGURE_SPECS, plot_figure

    base = [_row("clean", 0.0, 0, 0, "jdr", 0.9), _row("clean", 0.0, 0, 0, "mpjpe", 20.0),
            _row("fgsm", 8.0, 1, 2, "jdr", 0.5), _row("fgsm", 8.0, 1, 2, "mpjpe", 60.0)]
    legacy = _tables(base)  # rows without the column (older files)
    assert _tables([{**r, "view_set": ""} for r in base]) == legacy
    assert "| 8 | 0.500 |" in legacy.splitlines()
    subset = [_row("fgsm", 8.0, 1, 2, "jdr", 0.7, "1+3"), _row("fgsm", 8.0, 1, 2, "mpjpe", 40.0, "1+3")]
    report = report_tables([run_from_rows(base + subset, {}, label="toytri")])
    lines = tables_markdown(report).splitlines()
    assert "| eps | toytri it=1 views=2 set=first | toytri it=1 views=2 set=1+3 |" in lines
    assert "| 0 | 0.900 | 0.900 |" in lines and "| 8 | 0.500 | 0.700 |" in lines
    assert "| 0 | 20.0 | 20.0 |" in lines and "| 8 | 60.0 | 40.0 |" in lines
    spec = next(s for s in FIGURE_SPECS if s.experiment == "multiview")
    assert plot_figure(spec, report.cells, ["toytri"], tmp_path / "mv.png").stat().st_size > 1000
