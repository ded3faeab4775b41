"""hw_topk: indices of the K largest of N values (a classifier's last stage)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..datatypes import DataType
from ..memmap import Res
from ..streams import StreamFormat, format_of
from .base import Block, Instance, as_dtype
from .calibration import CAL, clog2

FOLD_ACC_W = 16  # accumulator bits the optimiser assumes (before the producer is known)


@dataclass
class TopK(Block):
    name: str
    N: int
    K: int
    in_dtype: DataType
    PE: int = 1
    kind: str = "TopK"
    rtl_module = "hw_topk"
    hls_header = "hw_topk.h"
    lanes_from_producer = True

    def __post_init__(self) -> None:
        self.in_dtype = as_dtype(self.in_dtype, self.name, "in_dtype")

    def check(self) -> None:
        from ..errors import CompileError

        if not 1 <= self.K <= self.N:
            raise CompileError(f"K={self.K} outside 1..N={self.N}", self.name)

    @property
    def n_in(self) -> int:
        return self.N

    @property
    def n_out(self) -> int:
        return self.K

    @property
    def in_lanes(self) -> int:
        return self.PE

    @property
    def out_lanes(self) -> int:
        return 1

    @property
    def out_type(self) -> DataType:
        return DataType.uint(max(1, (self.N - 1).bit_length()))

    def out_dtype_name(self) -> str:
        return "INDEX"

    def in_format(self) -> StreamFormat:
        return format_of(self.in_dtype, self.PE, self.N)

    def out_format(self) -> StreamFormat:
        return StreamFormat(1, self.out_type.bits, self.K, False)

    def cycles_per_frame(self) -> int:
        return self.N + (1 if self.K == self.N else 0)

    def with_lanes(self, lanes: int) -> TopK:
        return replace(self, PE=lanes)

    def fold_row(self) -> dict:
        return {"PE": self.PE}

    def fold_after(self, lanes_before: int, target: int, spec: dict) -> TopK:
        return self.with_lanes(lanes_before)

    def report_row(self) -> dict:
        return {"shape": [self.N], "K": self.K}

    def estimate(self, data: bool = True) -> Res:
        return estimate_topk(self.N, self.PE, self.in_format().width, self.K, self.out_type.bits)

    def fold_estimate(self) -> Res:
        return estimate_topk(self.N, self.PE, FOLD_ACC_W, self.K, self.out_type.bits)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Indices of the K largest values, larger first, equal values lower index first."""
        return np.argsort(-x, axis=1, kind="stable")[:, : self.K].astype(np.int64)

    def rtl(self) -> Instance:
        params = (
            ("N", str(self.N)), ("PE", str(self.PE)), ("ACC_W", str(self.in_format().width)),
            ("K", str(self.K)), ("IDX_W", str(self.out_type.bits)),
        )  # fmt: skip
        return Instance(self.rtl_module, self.name, params, rows=(4, 1), inline=True)

    def hls(self, i: str, o: str) -> str:
        w = self.in_format().width
        return f"    hw_topk<{self.N}, {self.PE}, {w}, {self.K}, {self.out_type.bits}>({i}, {o});\n"


def estimate_topk(n: int, pe: int, acc_w: int, k: int, idx_w: int) -> Res:
    c = CAL
    ff = pe * acc_w + k * (acc_w + idx_w + 1) + k * idx_w + 2 * clog2(max(2, n)) + 8
    lut = (
        c["topk_base"]
        + c["topk_entry_bit"] * k * (acc_w + idx_w)
        + c["topk_shift"] * (pe - 1) * acc_w
    )
    return Res(lut=lut, ff=ff)
