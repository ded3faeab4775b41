"""The training loop: resume, the lazy loader, augmentation, square hinge, recipes, log."""

import json

import numpy as np
import pytest
import torch
from test_imagefolder import _make_folder

from halfwave.training import train
from halfwave.training.distributed import without_nproc
from halfwave.training.loader import FolderDataset, Shard, random_resized_crop, train_loader
from halfwave.training.losses import square_hinge
from halfwave.training.recipes import recipe
from halfwave.training.train import CheckpointError


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _make_folder(tmp_path_factory.mktemp("shapes"), per_class=8)


def _weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_equals_straight_digits(tmp_path):
    kw = dict(epochs=2, seed=3, progress=False)
    train("tfc_w1a2", tmp_path / "straight.pt", **kw)
    first = train("tfc_w1a2", tmp_path / "r.pt", stop_after=1, **kw)
    assert first["epochs_run"] == 1
    assert torch.load(tmp_path / "r.pt", weights_only=True)["train_state"]["epoch"] == 1
    second = train("tfc_w1a2", tmp_path / "r.pt", resume=tmp_path / "r.pt", **kw)
    assert second["epochs_run"] == 1
    _same(_weights(tmp_path / "straight.pt"), _weights(tmp_path / "r.pt"))
    log = (tmp_path / "r.pt.log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2]  # resume appends


def test_resume_equals_straight_ttq(tmp_path):
    """TTQ: its scales' own optimiser group and constraint survive the resume."""
    kw = dict(epochs=2, seed=2, progress=False)
    train("tfc_ttq_a2", tmp_path / "s.pt", **kw)
    train("tfc_ttq_a2", tmp_path / "r.pt", stop_after=1, **kw)
    train("tfc_ttq_a2", tmp_path / "r.pt", resume=tmp_path / "r.pt", **kw)
    a, b = _weights(tmp_path / "s.pt"), _weights(tmp_path / "r.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]) if isinstance(a[k], torch.Tensor) else a[k] == b[k], k


def test_resume_equals_straight_folder_with_workers(folder, tmp_path):
    """Augmented crops drawn in worker processes: the same after a resume."""
    kw = dict(
        epochs=2, seed=1, progress=False, data_dir=folder, batch_size=6, max_steps=2,
        workers=1, threads=1,
    )  # fmt: skip
    train("cnv_w1a2", tmp_path / "s.pt", **kw)
    train("cnv_w1a2", tmp_path / "r.pt", stop_after=1, **kw)
    train("cnv_w1a2", tmp_path / "r.pt", resume=tmp_path / "r.pt", **kw)
    _same(_weights(tmp_path / "s.pt"), _weights(tmp_path / "r.pt"))


def test_resume_refuses_other_model(tmp_path):
    train("tfc_w1a2", tmp_path / "a.pt", epochs=1, progress=False)
    with pytest.raises(CheckpointError, match="holds model 'tfc_w1a2', not 'sfc_w1a2'"):
        train("sfc_w1a2", tmp_path / "b.pt", resume=tmp_path / "a.pt", progress=False)


def test_loader_reads_lazily(folder, monkeypatch):
    """Building the data set and loader opens no image; a batch opens exactly its own."""
    from PIL import Image

    from halfwave.training.imagefolder import list_image_folder

    opened = []
    real_open = Image.open

    def counting_open(path, *a, **kw):
        opened.append(str(path))
        return real_open(path, *a, **kw)

    monkeypatch.setattr(Image, "open", counting_open)
    listing = list_image_folder(folder)
    ds = FolderDataset(listing.train, 32, train=True, seed=0)
    loader = train_loader(ds, 4, Shard(), seed=0, workers=0)
    assert opened == []
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.uint8 and len(opened) == 4
    assert len(listing.train) > 4


def test_training_never_materialises(folder, tmp_path, monkeypatch):
    """Training on a folder does not go through the in-memory loader."""
    import halfwave.training.imagefolder as imf

    def refuse(*a, **kw):
        raise AssertionError("the whole image folder was loaded into memory")

    monkeypatch.setattr(imf, "load_image_folder", refuse)
    monkeypatch.setattr(imf, "_stack", refuse)
    m = train(
        "cnv_w1a2", tmp_path / "a.pt", epochs=1, progress=False, data_dir=folder, batch_size=6,
        max_steps=1, workers=0, threads=1,
    )  # fmt: skip
    assert m["classes"] == ["circle", "square", "triangle"]
    assert 0 <= m["test_accuracy"] <= m["test_top5"] <= 1


def test_random_resized_crop_box():
    rng = np.random.default_rng(0)
    for w, h in [(200, 100), (64, 64), (30, 300), (1, 1)]:
        for _ in range(50):
            left, top, right, bottom = random_resized_crop((w, h), rng)
            assert 0 <= left < right <= w and 0 <= top < bottom <= h
    boxes = [random_resized_crop((500, 400), rng) for _ in range(200)]
    fractions = [(r - left) * (b - t) / 200_000 for left, t, r, b in boxes]
    ratios = [(r - left) / (b - t) for left, t, r, b in boxes]
    assert 0.07 < min(fractions) and max(fractions) <= 1.0 and np.std(fractions) > 0.1
    assert 0.74 < min(ratios) and max(ratios) < 1.35


def test_augmentation_depends_on_seed_epoch_index(folder):
    from halfwave.training.imagefolder import list_image_folder

    files = list_image_folder(folder).train
    ds = FolderDataset(files, 32, train=True, seed=5)
    a = ds[0][0]
    assert torch.equal(a, FolderDataset(files, 32, train=True, seed=5)[0][0])
    ds.set_epoch(1)
    b = ds[0][0]
    assert not torch.equal(a, b)
    val = FolderDataset(files, 32, train=False)
    assert torch.equal(val[0][0], val[0][0])


def test_square_hinge_formula():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(7, 5, generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, 5, (7,), generator=g)
    want = 0.0
    for i in range(7):
        for j in range(5):
            t = 1.0 if j == int(y[i]) else -1.0
            want += max(0.0, 1.0 - float(out[i, j]) * t) ** 2
    assert float(square_hinge(out, y)) == pytest.approx(want / 35, rel=1e-12)
    out.requires_grad_(True)
    square_hinge(out, y).backward()
    t = -torch.ones(7, 5, dtype=torch.float64)
    t[torch.arange(7), y] = 1
    grad = -2 * t * torch.clamp(1 - out.detach() * t, min=0) / 35
    assert torch.allclose(out.grad, grad)


def test_train_square_hinge(tmp_path):
    m = train("tfc_w1a2", tmp_path / "h.pt", epochs=2, progress=False, loss="square_hinge")
    assert m["loss"] == "square_hinge" and m["test_accuracy"] > 0.5
    with pytest.raises(ValueError, match="--loss 'hinge'"):
        train("tfc_w1a2", tmp_path / "x.pt", epochs=1, progress=False, loss="hinge")


def test_recipes():
    alex = recipe("hwgq_alexnet", image_folder=True)
    assert (alex.optimizer, alex.lr, alex.momentum, alex.weight_decay) == ("sgd", 0.02, 0.9, 5e-4)
    assert (alex.batch_size, alex.epochs, alex.schedule) == (256, 64, "poly")
    res = recipe("hwgq_resnet18", image_folder=True)
    assert (res.lr, res.weight_decay, res.batch_size) == (0.1, 5e-5, 256)
    digits = recipe("hwgq_alexnet", image_folder=False)
    assert (digits.optimizer, digits.lr, digits.batch_size, digits.epochs) == ("adam", 1e-2, 64, 1)
    assert recipe("tfc", image_folder=True).epochs == 40


def test_metrics_log_and_top5(tmp_path):
    m = train("tfc_w1a2", tmp_path / "a.pt", epochs=2, progress=False)
    lines = [json.loads(s) for s in (tmp_path / "a.pt.log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert {"loss", "train_top1", "val_top1", "val_top5", "lr", "images_per_second"} <= set(
        lines[0]
    )
    assert lines[1]["val_top1"] == m["test_accuracy"] and m["test_top5"] >= m["test_accuracy"]
    assert lines[0]["images"] == 21 * 64  # 1347 samples, batch 64, the last 3 dropped


def test_nproc_stripped():
    assert without_nproc(["train", "m", "--nproc", "2", "--out", "x"]) == [
        "train", "m", "--out", "x",
    ]  # fmt: skip
    assert without_nproc(["train", "--nproc=4", "m"]) == ["train", "m"]


def test_device_cuda_refused_without_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ValueError, match="--device cuda: no CUDA device"):
        train("tfc_w1a2", tmp_path / "a.pt", epochs=1, progress=False, device="cuda")
