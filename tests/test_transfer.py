"""Transfer attacks between monocular stand-ins: diagonal = white-box, off-diagonal = B on A's images."""

from __future__ import annotations

import csv

import pytest
import torch
from attack_toys import ToyMonocular, ToyTriangulation, make_batch

from poselab.attacks.igsm import IGSMU
from poselab.attacks.sweep import eps_sweep
from poselab.data.sample import select_views
from poselab.evaluation.transfer import craft, main, transfer_matrix
from poselab.metrics import MPJPE
from poselab.reporting.report import build_report
from poselab.reporting.transfer import transfer_tables
from poselab.results.files import write_transfer_csv


def models() -> dict[str, ToyMonocular]:
    torch.manual_seed(1)
    a = ToyMonocular().eval()
    torch.manual_seed(2)
    b = ToyMonocular().eval()
    return {"a": a, "b": b}


def batches() -> list[dict]:
    return [select_views(make_batch(3, seed=s), [0]) for s in (0, 1)]


def error(model, batch, images) -> float:
    m = MPJPE()
    with torch.no_grad():
        m.update(model(images, batch)["pose"], model.pose_target(batch))
    return float(m.compute())


def test_diagonal_equals_white_box_sweep_and_off_diagonal_is_b_on_a_images():
    ms, bs = models(), batches()
    attack = IGSMU(eps=8.0, steps=3)
    rows = {(r["source"], r["target"]): r for r in transfer_matrix(ms, bs, attack)}
    assert len(rows) == 4
    for name, model in ms.items():
        # white-box: the eps sweep the attack callback runs, on the same batches
        metric = MPJPE()
        for batch in bs:
            res = eps_sweep(
                attack,
                lambda b, m=model: lambda x: m(x, b)["pose"],
                batch["images"].float(),
                batch,
                model.pose_target(batch),
                [8.0],
            )
            metric.update(res.outputs[3]["output"][0], model.pose_target(batch))
        assert rows[(name, name)]["adv_mpjpe"] == pytest.approx(float(metric.compute()), rel=1e-5)
        assert rows[(name, name)]["increase"] > 0
    # a -> b: model b evaluated on images crafted against a
    adv_err = MPJPE()
    for batch in bs:
        adv = craft(ms["a"], batch, attack)
        with torch.no_grad():
            adv_err.update(ms["b"](adv, batch)["pose"], ms["b"].pose_target(batch))
    clean_b = sum(error(ms["b"], b, b["images"].float()) for b in bs) / 2  # equal batch sizes
    assert rows[("a", "b")]["adv_mpjpe"] == pytest.approx(float(adv_err.compute()), rel=1e-5)
    assert rows[("a", "b")]["clean_mpjpe"] == pytest.approx(clean_b, rel=1e-5)
    assert rows[("a", "b")]["increase"] == pytest.approx(rows[("a", "b")]["adv_mpjpe"] - clean_b, rel=1e-4)
    assert all(r["n"] == 6 and r["eps"] == 8.0 and r["iterations"] == 3 for r in rows.values())


def test_multiview_model_is_rejected():
    with pytest.raises(ValueError, match="multi-view"):
        transfer_matrix({"tri": ToyTriangulation()}, batches(), IGSMU(eps=1.0, steps=1))


def test_report_shows_the_transfer_matrix(tmp_path):
    rows = transfer_matrix(models(), batches()[:1], IGSMU(eps=4.0, steps=2))
    write_transfer_csv(rows, tmp_path / "transfer" / "transfer.csv")
    report = build_report([tmp_path / "transfer"], tmp_path / "report")
    (table,) = [t for t in report.tables if t.name.startswith("transfer")]
    assert table.columns == ["source \\ target", "on a", "on b"]
    by_pair = {(r["source"], r["target"]): r["increase"] for r in rows}
    assert table.rows[0][1:] == [pytest.approx(by_pair[("a", "a")]), pytest.approx(by_pair[("a", "b")])]
    assert table.rows[1][1:] == [pytest.approx(by_pair[("b", "a")]), pytest.approx(by_pair[("b", "b")])]
    assert report.figures["transfer"].is_file()
    assert "figures/transfer.png" in (report.out / "report.md").read_text()


def test_tables_split_by_setting():
    rows = [
        {
            "source": "a",
            "target": "a",
            "eps": e,
            "iterations": 1,
            "clean_mpjpe": 1.0,
            "adv_mpjpe": 2.0,
            "increase": e,
            "n": 1,
        }
        for e in (1.0, 2.0)
    ]
    assert [t.rows[0][1] for t in transfer_tables(rows)] == [1.0, 2.0]


def test_cli_writes_transfer_csv(tmp_path, capsys):
    out = tmp_path / "t"
    rc = main(
        [
            "--model",
            "x=attack_toys.ToyMonocular",
            "--model",
            "y=attack_toys.ToyMonocular",
            "--data",
            "attack_toys.ToyDataset",
            "--data-args",
            '{"size": 4}',
            "--eps",
            "2",
            "--steps",
            "1",
            "--batch-size",
            "2",
            "--batches",
            "1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    with (out / "transfer.csv").open() as f:
        got = list(csv.DictReader(f))
    assert {(r["source"], r["target"]) for r in got} == {("x", "x"), ("x", "y"), ("y", "x"), ("y", "y")}
    assert main(["--model", "bad", "--data", "attack_toys.ToyDataset"]) == 2


def test_transfer_progress_counts_real_work(monkeypatch, capsys):
    """The bar advances once per (batch, source model) attack, after it ran - not over a prepared list."""
    import poselab.evaluation.transfer as transfer

    crafted: list[int] = []
    real = transfer.craft

    def counting(model, batch, attack):
        crafted.append(1)
        return real(model, batch, attack)

    monkeypatch.setattr(transfer, "craft", counting)
    transfer_matrix(models(), batches(), IGSMU(eps=2.0, steps=1), progress=True)
    err = capsys.readouterr().err
    assert len(crafted) == 4 and "4/4" in err and "attack" in err and "transfer" in err
    assert "0/4" in err  # shown before the first attack finished
    capsys.readouterr()
    transfer_matrix(models(), batches(), IGSMU(eps=2.0, steps=1))
    assert "transfer" not in capsys.readouterr().err  # library callers get no bar by default
