"""Fixtures: small calibrated models compiled once per session (no training)."""

from __future__ import annotations

from pathlib import Path

import pytest


def _compile(tmp: Path, name: str, board: str | None = None) -> Path:
    from halfwave.flow import api
    from halfwave.training import calibrated_model, export_qonnx

    onnx = export_qonnx(calibrated_model(name), None, tmp / f"{name}.onnx")
    build = tmp / (name if board is None else f"{name}-{board}")
    api.compile(onnx, build, board=board)
    return build


@pytest.fixture(scope="session")
def tfc_build(tmp_path_factory) -> Path:
    return _compile(tmp_path_factory.mktemp("tfc"), "tfc_w1a2")


@pytest.fixture(scope="session")
def cnv_build(tmp_path_factory) -> Path:
    return _compile(tmp_path_factory.mktemp("cnv"), "cnv_w1a2")
