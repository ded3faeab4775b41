"""halfwave.training: quantised models on digits, their training and QONNX export.

Knows nothing of hardware; see ../shared/DESIGN.md sections 1-2 for the numeric contract."""

from .calibrate import calibrate_batchnorm, calibrated_model
from .data import digits_test_arrays, load_digits_split
from .export import ExportError, export_qonnx
from .models import build_model, parse_name
from .train import CheckpointError, load_checkpoint, train

__all__ = [
    "calibrate_batchnorm",
    "calibrated_model",
    "CheckpointError",
    "ExportError",
    "build_model",
    "digits_test_arrays",
    "export_qonnx",
    "load_checkpoint",
    "load_digits_split",
    "parse_name",
    "train",
]
