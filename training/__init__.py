"""halfwave.training: quantised models (FC and convolutional; binary, ternary, k-bit
weights; brevitas.nn modules) on digits or image folders, their training, QONNX export
(by Brevitas) and weight memory.

Knows nothing of hardware; see ../shared/DESIGN.md sections 1-2 for the numeric contract."""

from .calibrate import calibrate_batchnorm, calibrated_model
from .data import (
    digits_images,
    digits_test_arrays,
    digits_test_images,
    digits_test_inputs,
    load_digits_split,
    random_images,
)
from .export import ExportError, export_qonnx
from .imagefolder import ImageFolderError, load_image_folder
from .models import build_model, default_loss, input_shape, is_conv, parse_name
from .size import model_size
from .ternary import snap_scales, ternary_report
from .train import CheckpointError, load_checkpoint, train

__all__ = [
    "calibrate_batchnorm",
    "calibrated_model",
    "CheckpointError",
    "default_loss",
    "ExportError",
    "ImageFolderError",
    "build_model",
    "digits_images",
    "digits_test_arrays",
    "digits_test_images",
    "digits_test_inputs",
    "export_qonnx",
    "input_shape",
    "is_conv",
    "load_checkpoint",
    "load_digits_split",
    "load_image_folder",
    "model_size",
    "parse_name",
    "random_images",
    "snap_scales",
    "ternary_report",
    "train",
]
