"""DDP for real: torchrun starts two gloo processes; one step of the global batch split
between them gives the weights one process gets from the whole batch."""

import os
import subprocess
import sys

import torch
from test_imagefolder import _make_folder

from halfwave.training import train

STEP = ["--epochs", "1", "--max-steps", "1", "--batch-size", "8", "--optimizer", "sgd"]
STEP += ["--lr", "0.1", "--sync-bn", "on", "--workers", "0"]


def _torchrun(args, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += ["-m", "halfwave.flow.cli", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)


def test_two_gloo_processes_equal_one(tmp_path):
    """A float model (cnv_float): the quantised models' HWGQ/sign thresholds would turn
    float-rounding differences of the (exactly synchronised) BatchNorm into different
    codes, which says nothing about DDP. Two processes of 4 images, BatchNorm statistics
    synchronised over both == one process of 8 images, to float32 rounding."""
    folder = _make_folder(tmp_path / "shapes", per_class=8)
    r = _torchrun(
        ["train", "cnv_float", "--data", str(folder), "--out", str(tmp_path / "ddp.pt"), *STEP],
        tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('"processes": 2') == 1  # rank 0 alone prints the metrics
    one = train(
        "cnv_float", tmp_path / "one.pt", epochs=1, data_dir=folder, batch_size=8,
        optimizer="sgd", lr=0.1, max_steps=1, workers=0, threads=1, progress=False,
    )  # fmt: skip
    assert one["processes"] == 1
    ddp = torch.load(tmp_path / "ddp.pt", weights_only=True)["state_dict"]
    ref = torch.load(tmp_path / "one.pt", weights_only=True)["state_dict"]
    torch.manual_seed(0)
    from halfwave.training import build_model

    init = build_model("cnv_float").state_dict()
    assert ddp.keys() == ref.keys()
    for k in ref:
        if not ref[k].is_floating_point():
            assert torch.equal(ddp[k], ref[k]), k
            continue
        step = (ref[k] - init[k]).abs().max()
        assert step > 0, f"{k} did not train"
        assert torch.allclose(ddp[k], ref[k], rtol=1e-4, atol=1e-4 * float(step)), k
