"""The deployment package of a BUILD: what a board needs to run the model.

`deploy/` holds `meta.json` (link, clock, stream formats, input quantiser, output scale,
model id, external weight streams), `weights/<node>.bin` per layer whose weights stream
from DDR (one pass in its DMA's byte layout: cosim.dma_weight_image), the driver
(`halfwave_driver.py`: Accelerator(path).predict(x)), `validate.py`, test vectors with
their expected outputs (the golden executor's, proven equal to PyTorch by `halfwave
verify`), and the bitstream (+ `.hwh`
on Zynq boards) when one was built. The driver is copied verbatim from
`sim/flow/board/driver_template/`, so the code the tests run against the co-simulation is the
code that runs on the board.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from halfwave.compiler import ir
from halfwave.compiler.datatypes import DataType
from halfwave.compiler.system_backend import system_params
from halfwave.sim import golden

from .cosim import DEFAULT_BAUD, UART_CLOCK_HZ, dma_weight_image

TEMPLATE = Path(__file__).resolve().parent / "driver_template"
DRIVER_FILES = ("halfwave_driver.py", "validate.py")


def input_meta(df: ir.Dataflow) -> dict:
    q = df.input
    doc = {
        "kind": q.kind, "shape": list(q.shape), "dtype": q.dtype, "scale": float(q.scale),
        "zero_point": float(q.zero_point), "rounding": q.rounding,
        "channels_last": bool(q.channels_last),
    }  # fmt: skip
    if q.kind == "quant":
        dt = DataType.parse(q.dtype)
        doc.update(min=int(dt.min), max=int(dt.max))
    if q.preprocess is not None:  # the host's float ops before the quantiser
        doc["preprocess"] = q.preprocess.as_json()
    return doc


def output_meta(df: ir.Dataflow) -> dict:
    last = df.nodes[-1]
    if isinstance(last, ir.TopK):
        return {"kind": "index", "k": last.K}
    if getattr(last, "out_scale", None) is not None:
        return {"kind": "affine", "scale": [float(v) for v in last.out_scale],
                "bias": [float(v) for v in last.out_bias]}  # fmt: skip
    return {"kind": "affine", "scale": float(last.boundary.scale), "bias": 0.0}


def link_of(board: str | None) -> str:
    """The host link of a board: 'uart' for the open ECP5 board, 'axi' (PYNQ) else."""
    if board is None:
        return "axi"
    from halfwave.compiler.boards import load_board

    return load_board(board).doc.get("link", "axi")


def board_clock_hz(board: str | None) -> float:
    if board is None:
        return 100e6
    from halfwave.compiler.boards import load_board

    return load_board(board).clock_mhz * 1e6


def write_package(
    build: Path,
    out: Path,
    board: str | None = None,
    x: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    bitfile: Path | None = None,
    hwh: Path | None = None,
    baud: int = DEFAULT_BAUD,
    batch: int | None = None,
) -> Path:
    """Write BUILD's deployment package to `out` and return it."""
    build, out = Path(build), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = ir.load(build)
    p = system_params(build)
    link = link_of(board)
    clock = UART_CLOCK_HZ if link == "uart" else board_clock_hz(board)
    if batch is None:  # UART: the reply must not outgrow the request, or RX overruns
        batch = 1 if link == "uart" and p.out_frame_bytes > p.in_frame_bytes else 64
    # batched external MVUs take whole batches: a run brings a multiple of frame_batch
    fb = int(json.loads((build / "rtl" / "top.json").read_text()).get("frame_batch", 1))
    batch = -(-batch // fb) * fb
    meta = {
        "model": df.model,
        "board": board,
        "link": link,
        "clock_hz": clock,
        "baud": baud if link == "uart" else None,
        "batch": batch,
        "frame_batch": fb,
        "system": p.to_json(),
        "input": input_meta(df),
        "output": output_meta(df),
        "external_weights": write_weight_images(build, out, p.weights),
    }
    for src in (bitfile, hwh):
        if src is not None and Path(src).is_file():
            shutil.copyfile(src, out / Path(src).name)
            meta["bitfile" if src is bitfile else "hwh"] = Path(src).name
    for f in DRIVER_FILES:
        shutil.copyfile(TEMPLATE / f, out / f)
    if x is not None:
        x = np.asarray(x, dtype=np.float32)
        values = golden.execute(df, x)[-1]
        np.save(out / "test_inputs.npy", x)
        np.save(out / "expected_values.npy", values)
        np.save(out / "expected_outputs.npy", golden.dequantize_output(df, values))
        if labels is not None:
            np.save(out / "test_labels.npy", np.asarray(labels))
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return out


def write_weight_images(build: Path, out: Path, weights) -> list[dict]:
    """deploy/weights/<node>.bin for every external weight stream; their meta entries
    (the k-th is fed by the DMA axi_dma_w<k>)."""
    entries = []
    for k, w in enumerate(weights):
        f = Path("weights") / f"{w.node}.bin"
        (out / f).parent.mkdir(parents=True, exist_ok=True)
        dma_weight_image(build, w).tofile(out / f)
        entries.append({"node": w.node, "dma": f"axi_dma_w{k}", "file": f.as_posix(),
                        "bytes_per_pass": w.bytes_per_pass,
                        "passes_per_frame": w.passes_per_frame})  # fmt: skip
    return entries


def load_driver(package: Path):
    """Import the package's own halfwave_driver.py (the file a board would run)."""
    import importlib.util

    path = Path(package) / "halfwave_driver.py"
    spec = importlib.util.spec_from_file_location(f"halfwave_driver_{abs(hash(path))}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
