"""Training recipes: optimiser, learning rate and schedule, weight decay, batch, epochs.

- Digits (the offline default, every model) and image folders for the small models:
  Adam, learning rate 1e-2, cosine decay to 0 over the run, batch 64, no weight decay,
  epochs per topology (DIGITS_EPOCHS); halfwave's recipe since the first version, which
  the README's digits accuracy table was measured with.
- hwgq_alexnet on an image folder (ImageNet): the HWGQ paper's AlexNet recipe (Cai, He,
  Sun, Vasconcelos, "Deep Learning with Low Precision by Half-wave Gaussian
  Quantization", CVPR 2017), as the authors' Caffe files give it (github.com/zhaoweicai/
  hwgq, examples/imagenet/alex-hwgq-3ne-clip-poly-320k: solver.prototxt, train_val
  .prototxt, train_alexnet_imagenet.sh): SGD, momentum 0.9, weight decay 5e-4, base
  learning rate 0.02, "poly" schedule of power 1 (linear decay to 0, per iteration),
  320,000 iterations of batch 256 (128 per GPU on 2 GPUs) = 64 ImageNet epochs
  (320,000 * 256 / 1,281,167 = 63.9), random 227 crops with mirroring.
- hwgq_resnet18 and hwgq_resnet18_tiny on an image folder: the same paper's
  ResNet-18 files (examples/imagenet/res18-hwgq-3ne-clip-poly-320k): SGD, momentum 0.9,
  weight decay 5e-5, base learning rate 0.1, poly power 1, 320,000 iterations of batch 256
  (64 per GPU on 4 GPUs) = 64 epochs, 224 crops with mirroring.

Deviations from Caffe, by design: weight decay applies to weight matrices and kernels only
(not to BatchNorm's affine parameters, biases or TTQ's scales); crops are random-resized
(loader.py) rather than Caffe's fixed-scale random crops of 256 x 256 images. The paper's
batch is global: under DDP each of N processes takes batch / N.

The TTQ CIFAR ResNets (ttq_resnet*) and the GoogLeNets take the digits recipe on any data:
the TTQ paper's CIFAR schedule (step decay) is not one the loop has, and the HWGQ
GoogLeNet recipe is not reproduced here."""

from __future__ import annotations

from dataclasses import dataclass, replace

DIGITS_EPOCHS = {
    "tfc": 40,
    "sfc": 40,
    "lfc": 30,
    "cnv": 4,
    "hwgq_alexnet": 1,
    "hwgq_alexnet_tiny": 10,
    "qnn_mlp": 20,
    "ttq_resnet20": 4,
    "hwgq_resnet18_tiny": 4,
    "hwgq_googlenet_tiny": 4,
}
FALLBACK_EPOCHS = 10  # a topology the table does not know yet


@dataclass(frozen=True)
class Recipe:
    optimizer: str  # "adam" | "sgd"
    lr: float
    schedule: str  # "cosine" | "poly" (power 1: linear to 0)
    batch_size: int  # global: all processes together
    epochs: int
    momentum: float = 0.0
    weight_decay: float = 0.0
    source: str = "halfwave digits recipe"


DIGITS = Recipe("adam", 1e-2, "cosine", 64, FALLBACK_EPOCHS)
HWGQ_ALEXNET = Recipe(
    "sgd", 0.02, "poly", 256, 64, momentum=0.9, weight_decay=5e-4,
    source="Cai et al. CVPR 2017 (HWGQ), zhaoweicai/hwgq alex-hwgq-3ne-clip-poly-320k",
)  # fmt: skip
HWGQ_RESNET = Recipe(
    "sgd", 0.1, "poly", 256, 64, momentum=0.9, weight_decay=5e-5,
    source="Cai et al. CVPR 2017 (HWGQ), zhaoweicai/hwgq res18-hwgq-3ne-clip-poly-320k",
)  # fmt: skip


def recipe(topology: str, image_folder: bool) -> Recipe:
    """The default recipe of a topology, trained on an image folder or on digits."""
    if image_folder and topology == "hwgq_alexnet":
        return HWGQ_ALEXNET
    if image_folder and topology.startswith("hwgq_resnet18"):
        return HWGQ_RESNET
    return replace(DIGITS, epochs=DIGITS_EPOCHS.get(topology, FALLBACK_EPOCHS))


def with_overrides(r: Recipe, **kw) -> Recipe:
    """``r`` with the fields given not None replaced."""
    return replace(r, **{k: v for k, v in kw.items() if v is not None})
