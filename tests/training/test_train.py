"""Training smoke test, determinism, checkpoints."""

import json

import numpy as np
import pytest
import torch
from conftest import boundary_scales, qonnx_boundaries, to_codes

from halfwave.training import CheckpointError, export_qonnx, load_checkpoint, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    metrics = train("tfc_w1a2", d / "a.pt", epochs=2, seed=1, progress=False)
    return d, metrics


def test_train_smoke(trained):
    d, metrics = trained
    assert metrics["epochs"] == 2 and metrics["test_accuracy"] > 0.5
    saved = json.loads((d / "a.pt.json").read_text())
    assert saved["test_accuracy"] == metrics["test_accuracy"]
    assert set(saved) >= {"name", "epochs", "train_accuracy", "test_accuracy", "seconds"}


def test_train_deterministic(trained, tmp_path):
    d, _ = trained
    train("tfc_w1a2", tmp_path / "b.pt", epochs=2, seed=1, progress=False)
    a = torch.load(d / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_trained_export_matches(trained, tmp_path, digits_x):
    d, _ = trained
    model = load_checkpoint(d / "a.pt", name="tfc_w1a2")
    p = export_qonnx("tfc_w1a2", d / "a.pt", tmp_path / "m.onnx", batch_size=len(digits_x))
    out, codes = model.double().forward_with_codes(torch.from_numpy(digits_x).double())
    q_out, bounds = qonnx_boundaries(p, digits_x)
    for a, b in zip(codes, to_codes(bounds, boundary_scales(model)), strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(out.numpy().argmax(1), q_out.argmax(1))
    one = export_qonnx("tfc_w1a2", d / "a.pt", tmp_path / "1.onnx").read_bytes()
    assert one == export_qonnx("tfc_w1a2", d / "a.pt", tmp_path / "2.onnx").read_bytes()


def test_checkpoint_garbage(tmp_path):
    p = tmp_path / "junk.pt"
    p.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="junk.pt: not a halfwave checkpoint"):
        load_checkpoint(p)
    q = tmp_path / "dict.pt"
    torch.save({"weights": torch.zeros(3)}, q)
    with pytest.raises(CheckpointError, match="dict.pt: not a halfwave checkpoint"):
        load_checkpoint(q)
    with pytest.raises(CheckpointError, match="missing.pt: no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_name_mismatch(trained, tmp_path):
    d, _ = trained
    with pytest.raises(CheckpointError, match="holds model 'tfc_w1a2', not 'tfc_w1a1'"):
        load_checkpoint(d / "a.pt", name="tfc_w1a1")
    with pytest.raises(CheckpointError, match="not 'sfc_w1a2'"):
        export_qonnx("sfc_w1a2", d / "a.pt", tmp_path / "m.onnx")
    sd = torch.load(d / "a.pt", weights_only=True)
    sd["model"] = "sfc_w1a2"  # wrong shapes for the stored tensors
    torch.save(sd, tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError, match="wrong.pt: cannot load model 'sfc_w1a2'"):
        load_checkpoint(tmp_path / "wrong.pt")
