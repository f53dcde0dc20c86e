"""YAML data configs -> datasets (used by the transfer and adversarial-training analyses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset, data_kwargs

ROOT = Path(__file__).resolve().parents[1]


def test_data_sections_merge_in_order(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("data:\n  image_size: 256\n  test_size: 10\n")
    b.write_text("trainer:\n  max_epochs: 1\ndata:\n  image_size: 64\n")
    assert data_kwargs([a, b]) == {"image_size": 64, "test_size": 10}
    assert data_kwargs([b, a]) == {"image_size": 256, "test_size": 10}


def test_default_configs_give_the_shipped_checkpoints_data():
    kwargs = data_kwargs([ROOT / p for p in DEFAULT_DATA_CONFIGS])
    assert kwargs["dataset"] == "synthetic" and kwargs["image_size"] == 64
    ds = build_dataset([str(ROOT / p) for p in DEFAULT_DATA_CONFIGS], {"test_size": 3}, "test")
    assert len(ds) == 3
    sample = ds[0]
    assert tuple(sample["images"].shape) == (4, 3, 64, 64)
    assert sample["subject"] in {"S9", "S11"}


def test_class_path_is_built_with_overrides():
    ds = build_dataset(["attack_toys.ToyDataset"], {"size": 5}, "test")
    assert len(ds) == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "not found"), ("data: [1, 2\n", "not valid YAML"), ("- 1\n- 2\n", "mapping")],
)
def test_bad_configs_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        build_dataset([str(path)], {}, "test")
    assert "bad.yaml" in str(info.value)


def test_bad_specs_and_options():
    with pytest.raises(ValueError, match="no data"):
        build_dataset([], {}, "test")
    with pytest.raises(ValueError, match="cannot import"):
        build_dataset(["poselab.nothing.Here"], {}, "test")
    with pytest.raises(ValueError, match="bad data option"):
        build_dataset([str(ROOT / DEFAULT_DATA_CONFIGS[0])], {"no_such_option": 1}, "test")
