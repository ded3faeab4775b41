"""Run the package's test vectors on the board; print accuracy and frames/s.

    python validate.py [--port /dev/ttyUSB0] [--n N]

Exit status 0 when every output equals the expected one (bit-exact), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from halfwave_driver import Accelerator  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", default=None, help="serial port (ULX3S)")
    p.add_argument("--n", type=int, default=None, help="frames (default: all test vectors)")
    a = p.parse_args(argv)
    x = np.load(HERE / "test_inputs.npy")
    want = np.load(HERE / "expected_values.npy")
    labels = np.load(HERE / "test_labels.npy") if (HERE / "test_labels.npy").exists() else None
    if a.n:
        x, want = x[: a.n], want[: a.n]
        labels = labels[: a.n] if labels is not None else None
    with Accelerator(HERE, port=a.port) as acc:
        got = acc.predict_values(x)
        t = acc.last_timing
    same = int((got == want).all(axis=1).sum())
    print(f"bit-exact frames: {same}/{len(x)}")
    if labels is not None:
        y = acc.dequantize(got)
        pred = y[:, 0] if acc.meta["output"]["kind"] == "index" else y.argmax(axis=1)
        print(f"accuracy: {float((pred == labels).mean()):.4f} on {len(x)} test images")
    print(
        f"{t['frames_per_s']:.1f} frames/s host to host (link included), "
        f"{t['board_frames_per_s']:.1f} frames/s board time, accelerator alone "
        f"{t['accelerator_frames_per_s']:.0f} frames/s at {acc.link.clock_hz / 1e6:g} MHz"
    )
    return 0 if same == len(x) else 1


if __name__ == "__main__":
    sys.exit(main())
