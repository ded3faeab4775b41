"""Every other input a user hands over (sim/flow/inputs.py and the loaders): X.npy,
folding files, board names, --fifo-depth, BUILD folders with missing or edited files,
checkpoints of another model or garbage, unreadable images. Each is refused by the CLI
with exit 2 and one line naming the file, node or value; never a traceback."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from builders import FcBuilder

from halfwave.flow import api
from halfwave.flow.cli import main
from halfwave.flow.inputs import MANIFEST, sentence


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inputs")
    model = FcBuilder(16, 0).quant_input().linear(8).batchnorm().hwgq().linear(4)
    path = model.save(tmp / "m.onnx")
    api.compile(path, tmp / "build")
    return path, tmp / "build"


def _one_line_error(capsys, argv, match: str) -> str:
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert match in err, err
    return err


@pytest.mark.parametrize(
    ("x", "match"),
    [(np.zeros((3, 15), np.float32), "shape [3, 15] is not (frames, 16)"),
     (np.zeros(16, np.float32), "shape [16]"),
     (np.full((2, 16), np.nan, np.float32), "frame 0 holds NaN"),
     (np.concatenate([np.zeros((1, 16)), np.full((1, 16), np.inf)]), "frame 1 holds Inf"),
     (np.zeros((2, 16), complex), "holds complex128"),
     (np.array([["a"] * 16]), "holds <U1"),
     (np.zeros((0, 16), np.float32), "holds no frames")],
)  # fmt: skip
def test_sim_inputs(built, tmp_path, capsys, x, match):
    _, build = built
    np.save(tmp_path / "x.npy", x)
    _one_line_error(capsys, ["sim", build, "--inputs", tmp_path / "x.npy", "--out",
                             tmp_path / "y.npy"], match)  # fmt: skip


def test_sim_accepts_frames_as_given(built, tmp_path):
    _, build = built
    x = np.arange(32, dtype=np.float32).reshape(2, 16)
    np.save(tmp_path / "x.npy", x)
    assert main(["sim", str(build), "--inputs", str(tmp_path / "x.npy"), "--out",
                 str(tmp_path / "y.npy")]) == 0  # fmt: skip
    assert np.array_equal(np.load(tmp_path / "y.npy"), api.simulate(build, x).output)


@pytest.mark.parametrize(
    ("doc", "match"),
    [({"mvu0": {"PE": None}}, "PE=None is not a positive integer"),
     ({"mvu0": {"PE": 2.5}}, "PE=2.5 is not a positive integer"),
     ({"mvu0": {"SIMD": True}}, "SIMD=True"), ({"mvu0": {"PE": 0}}, "PE=0"),
     ({"mvu0": {"PEE": 2}}, "unknown key 'PEE'"), ({"mvu7": {"PE": 1}}, "unknown nodes: mvu7"),
     ({"mvu0": 3}, "entry of 'mvu0' is not an object"), ([1], "maps node names")],
)  # fmt: skip
def test_folding_files(built, tmp_path, capsys, doc, match):
    path, _ = built
    fold = tmp_path / "fold.json"
    fold.write_text(json.dumps(doc))
    _one_line_error(capsys, ["compile", path, "--out", tmp_path / "b", "--folding", fold], match)


@pytest.mark.parametrize(
    ("args", "match"),
    [(["--board", "no-such-board"], "unknown board 'no-such-board'"),
     (["--board", "../../etc/passwd"], "unknown board"),
     (["--fifo-depth", "mvu0=1"], "FIFO depth 1 outside"),
     (["--fifo-depth", "mvu0=x"], "expected NODE=DEPTH"),
     (["--fifo-depth", "mvu9=4"], "unknown nodes: mvu9")],
)  # fmt: skip
def test_board_names_and_fifo_depths(built, tmp_path, capsys, args, match):
    path, _ = built
    _one_line_error(capsys, ["compile", path, "--out", tmp_path / "b", *args], match)


def _damaged(build, tmp_path, what: str, manifest: bool = True):
    d = tmp_path / "damaged"
    shutil.copytree(build, d)
    if not manifest:
        (d / MANIFEST).unlink()
    if what == "missing":
        (d / "params" / "mvu0_weights.npy").unlink()
    elif what == "mem":
        mem = d / "rtl" / "mvu0_weights.mem"
        mem.write_text(mem.read_text().replace("0", "1", 1))
    elif what == "field":
        doc = json.loads((d / "dataflow.json").read_text())
        doc["nodes"][0]["MW"] = "x"
        (d / "dataflow.json").write_text(json.dumps(doc))
    elif what == "params":
        np.save(d / "params" / "mvu0_weights.npy", np.zeros((2, 2), np.int16))
    elif what == "json":
        (d / "dataflow.json").write_text('{"format": ')
    return d


@pytest.mark.parametrize(
    ("what", "manifest", "match"),
    [("missing", True, "params/mvu0_weights.npy is missing; recompile"),
     ("mem", True, "rtl/mvu0_weights.mem was edited after the compile"),
     ("field", True, "dataflow.json was edited"),
     ("field", False, "field MW='x' is not an integer"),
     ("params", False, "weights of shape (2, 2), expected (8, 16)"),
     ("missing", False, "damaged build"), ("json", False, "damaged build")],
)  # fmt: skip
def test_damaged_build_folders(built, tmp_path, capsys, what, manifest, match):
    _, build = built
    d = _damaged(build, tmp_path, what, manifest)
    np.save(tmp_path / "x.npy", np.zeros((1, 16), np.float32))
    _one_line_error(capsys, ["sim", d, "--inputs", tmp_path / "x.npy", "--out",
                             tmp_path / "y.npy"], match)  # fmt: skip


def test_recompiling_refreshes_the_manifest(built, tmp_path):
    path, build = built
    d = tmp_path / "again"
    shutil.copytree(build, d)
    mem = d / "rtl" / "mvu0_weights.mem"
    mem.write_text(mem.read_text().replace("0", "1", 1))
    api.compile(path, d)
    api.simulate(d, np.zeros((1, 16)))


def test_checkpoints_of_another_model_or_garbage(tmp_path, capsys):
    import torch

    garbage = tmp_path / "g.pt"
    garbage.write_bytes(b"\x80\x02garbage" * 10)
    _one_line_error(capsys, ["export", "tfc_w1a2", "--ckpt", garbage, "--out",
                             tmp_path / "e.onnx"], "not a halfwave checkpoint")  # fmt: skip
    other = tmp_path / "o.pt"
    torch.save({"model": "sfc_w1a2", "state_dict": {}}, other)
    _one_line_error(capsys, ["export", "tfc_w1a2", "--ckpt", other, "--out", tmp_path / "e.onnx"],
                    "holds model 'sfc_w1a2', not 'tfc_w1a2'")  # fmt: skip
    wrong = tmp_path / "w.pt"
    torch.save({"model": "tfc_w1a2", "state_dict": {"x": torch.zeros(2)}}, wrong)
    _one_line_error(capsys, ["export", "tfc_w1a2", "--ckpt", wrong, "--out",
                             tmp_path / "e.onnx"], "cannot load model 'tfc_w1a2'")  # fmt: skip


def test_unreadable_image_is_named(tmp_path):
    from PIL import Image

    from halfwave.training.imagefolder import ImageFolderError, load_image_folder

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(2):
            Image.new("RGB", (8, 8)).save(tmp_path / c / f"{i}.png")
    (tmp_path / "b" / "1.png").write_bytes(b"not a png")
    with pytest.raises(ImageFolderError) as info:
        load_image_folder(tmp_path, 8)
    msg = sentence(info.value)
    assert "1.png" in msg and "cannot read as an image" in msg


def test_sentence_folds_multiline_messages():
    assert sentence(ValueError("a\n  b\n\nc")) == "a b c"
    assert len(sentence(ValueError("x" * 1000))) == 400
