"""Image folders read with Pillow; training a convolutional model on one; digits images."""

import json

import numpy as np
import pytest
import torch

from halfwave.training import export_qonnx, load_checkpoint, train
from halfwave.training.data import (
    digits_images,
    digits_test_images,
    digits_test_inputs,
    load_digits_split,
)
from halfwave.training.imagefolder import ImageFolderError, load_image, load_image_folder

CLASSES = ("circle", "square", "triangle")
COLOURS = [(220, 40, 40), (40, 200, 60), (50, 80, 230), (240, 200, 30), (200, 60, 200), (0, 0, 0)]


def _shape_image(kind: str, i: int):
    """A coloured shape on a grey background; sizes and aspect ratios vary with i."""
    from PIL import Image, ImageDraw

    w, h = [(120, 90), (64, 64), (90, 140), (200, 100), (77, 77), (100, 60)][i % 6]
    img = Image.new("RGB", (w, h), (128 + 10 * i, 128, 128 - 10 * i))
    d = ImageDraw.Draw(img)
    cx, cy, r = w // 2, h // 2, min(w, h) // 3
    col = COLOURS[i % len(COLOURS)]
    if kind == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col)
    elif kind == "square":
        d.rectangle((cx - r, cy - r, cx + r, cy + r), fill=col)
    else:
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=col)
    return img


def _make_folder(root, per_class=6, split=False):
    for c in CLASSES:
        for i in range(per_class):
            sub = root / ("val" if split and i >= per_class - 2 else "train") if split else root
            d = sub / c
            d.mkdir(parents=True, exist_ok=True)
            ext = "png" if i % 2 == 0 else "jpg"
            _shape_image(c, i).save(d / f"{c}_{i}.{ext}")
    (root / "notes.txt").write_text("not an image\n")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _make_folder(tmp_path_factory.mktemp("shapes"))


def test_flat_layout_split(folder):
    s = load_image_folder(folder, 32)
    assert s.classes == CLASSES
    assert s.x_train.shape == (15, 3, 32, 32) and s.x_test.shape == (3, 3, 32, 32)
    assert s.x_train.dtype == np.uint8 and s.y_train.dtype == np.int64
    assert sorted(s.y_test.tolist()) == [0, 1, 2]  # one of each class held out
    assert np.bincount(s.y_train).tolist() == [5, 5, 5]
    again = load_image_folder(folder, 32)  # deterministic
    assert np.array_equal(again.x_train, s.x_train) and np.array_equal(again.y_test, s.y_test)


def test_train_val_layout(tmp_path):
    root = _make_folder(tmp_path, split=True)
    s = load_image_folder(root, 20)
    assert s.classes == CLASSES
    assert s.x_train.shape == (12, 3, 20, 20) and s.x_test.shape == (6, 3, 20, 20)
    assert s.y_train.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert s.y_test.tolist() == [0, 0, 1, 1, 2, 2]
    (root / "val" / "hexagon").mkdir()
    _shape_image("square", 0).save(root / "val" / "hexagon" / "h.png")
    with pytest.raises(ImageFolderError, match="'hexagon' has no training images"):
        load_image_folder(root, 20)


def test_resize_shorter_side_then_centre_crop(tmp_path):
    from PIL import Image

    # landscape 200x100: black 40-pixel bands at left and right fall outside the crop
    a = np.full((100, 200, 3), 255, np.uint8)
    a[:, :40] = 0
    a[:, -40:] = 0
    a[:, 40:160, 0] = 10  # red channel marks the kept middle
    Image.fromarray(a).save(tmp_path / "wide.png")
    x = load_image(tmp_path / "wide.png", 50)
    assert x.shape == (3, 50, 50) and x.dtype == np.uint8
    assert (x[0] == 10).all() and (x[1:] == 255).all()
    # portrait 60x180 (w x h): bands at top and bottom; shorter side 60 -> 30
    b = np.full((180, 60, 3), 200, np.uint8)
    b[:40] = 0
    b[-40:] = 0
    Image.fromarray(b).save(tmp_path / "tall.png")
    y = load_image(tmp_path / "tall.png", 30)
    assert (y == 200).all()
    # grey and palette images become RGB with three equal channels
    Image.fromarray(np.full((8, 8), 77, np.uint8), mode="L").save(tmp_path / "grey.png")
    g = load_image(tmp_path / "grey.png", 4)
    assert g.shape == (3, 4, 4) and (g == 77).all()


def test_errors(tmp_path):
    with pytest.raises(ImageFolderError, match="no such folder"):
        load_image_folder(tmp_path / "missing", 32)
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ImageFolderError, match="no images found"):
        load_image_folder(tmp_path / "empty", 32)
    (tmp_path / "bad" / "a").mkdir(parents=True)
    (tmp_path / "bad" / "a" / "x.png").write_bytes(b"not a png")
    with pytest.raises(ImageFolderError, match="x.png: cannot read as an image"):
        load_image_folder(tmp_path / "bad", 32)


def test_train_alexnet_tiny_on_folder(folder, tmp_path):
    m = train(
        "hwgq_alexnet_tiny", tmp_path / "a.pt", epochs=1, progress=False, threads=1, data_dir=folder
    )
    assert m["classes"] == list(CLASSES) and m["data"] == str(folder)
    assert 0.0 <= m["test_accuracy"] <= 1.0
    saved = json.loads((tmp_path / "a.pt.json").read_text())
    assert saved["epochs"] == 1
    model = load_checkpoint(tmp_path / "a.pt", name="hwgq_alexnet_tiny")
    x = load_image_folder(folder, 99).x_test.astype(np.float32)
    out, codes = model.double().forward_with_codes(torch.from_numpy(x).double())
    assert out.shape == (3, 10) and codes[1].shape == (3, 8, 11, 11)
    p = export_qonnx("hwgq_alexnet_tiny", tmp_path / "a.pt", tmp_path / "a.onnx")
    assert p.read_bytes() == export_qonnx(model, None, tmp_path / "b.onnx").read_bytes()


def test_cli_passes_data(tmp_path, capsys):
    from halfwave.flow.cli import main

    rc = main(["train", "hwgq_alexnet_tiny", "--out", str(tmp_path / "a.pt"), "--data", "nowhere"])
    assert rc == 2 and "nowhere: no such folder" in capsys.readouterr().err


def test_fc_model_reads_a_folder_as_8x8_gray(folder, tmp_path):
    """FC models (qnn_mlp, tfc...) on an image folder: the digits' format, 64 gray pixels."""
    from halfwave.training.imagefolder import list_image_folder, read_image
    from halfwave.training.loader import FolderDataset

    listing = list_image_folder(folder)
    path, label = listing.val[0]
    x, y = FolderDataset(listing.val, 8, train=False, flat_gray=True)[0]
    rgb = read_image(path, 8).astype(np.int64)
    gray = (rgb.sum(axis=0) * 2 + 3) // 6  # the channel mean, rounded (no .5 ties: /3)
    assert y == label and x.dtype == torch.uint8 and x.shape == (64,)
    assert np.array_equal(x.numpy(), gray.reshape(-1))
    m = train("tfc_w1a2", tmp_path / "a.pt", epochs=1, progress=False, data_dir=folder)
    assert m["classes"] == list(CLASSES) and 0.0 <= m["test_accuracy"] <= 1.0


def test_digits_images():
    s = digits_images(32)
    d = load_digits_split()
    assert s.x_train.shape == (1347, 3, 32, 32) and s.x_test.shape == (450, 3, 32, 32)
    assert s.x_train.dtype == np.uint8 and np.array_equal(s.y_test, d.y_test)
    assert np.array_equal(s.x_train[:, 0], s.x_train[:, 2])  # grey: three equal channels
    # bilinear upscaling keeps the extremes: 0 -> 0 and 16 -> 255
    assert s.x_train.max() == 255 and s.x_train.min() == 0
    x, y = digits_test_images(32, n=5)
    assert x.dtype == np.float32 and x.shape == (5, 3, 32, 32)
    assert y.tolist() == d.y_test[:5].tolist()
    assert digits_test_inputs("cnv_w1a2", 3)[0].shape == (3, 3, 32, 32)
    assert digits_test_inputs("hwgq_alexnet_tiny", 2)[0].shape == (2, 3, 99, 99)
    assert digits_test_inputs("tfc_w1a2")[0].shape == (450, 64)
    # the image is the 8x8 digit scaled up: block means follow the pixels
    img = s.x_test[0, 0].astype(np.float64)
    blocks = img.reshape(8, 4, 8, 4).mean((1, 3))
    pix = d.x_test[0].reshape(8, 8) * 255 / 16
    assert np.corrcoef(blocks.ravel(), pix.ravel())[0, 1] > 0.95


@pytest.mark.slow
def test_train_cnv_w1a2_digits(tmp_path, digits_x):
    """The default recipe on digits 32x32 (a few minutes on 2 cores)."""
    m = train("cnv_w1a2", tmp_path / "c.pt", seed=0, progress=False)
    print(f"\ncnv_w1a2: {m}")
    assert m["test_accuracy"] > 0.9
