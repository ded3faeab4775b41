"""hw_fork: a stream with several consumers, each taking every beat once (structural: the
netlist places one after a producer with several consumers; not an IR node).

Per-output "taken" flags: a stalled output does not stop the others taking the current
beat; the input beat leaves when its last output has taken it. No data registers,
latency 0, one beat per cycle when every output is ready.

Decided here (not in DAGSPEC): an optional field `beats` (beats per frame, default 0)
is the loop bound of the HLS process, which must know it; `hls_fork` refuses a Fork
without it in one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..memmap import Res
from .base import Block, Instance

__all__ = ["Fork", "estimate_fork"]


@dataclass(frozen=True)
class Fork(Block):
    """`width`-bit beats to `n_out` (2..8) consumers."""

    name: str
    width: int
    n_out: int
    beats: int = 0  # beats per frame (HLS loop bound); 0: not known
    kind: str = "Fork"
    rtl_module = "hw_fork"
    hls_header = "hw_fork.h"

    def check(self) -> None:
        from ..errors import CompileError

        if self.width < 1:
            raise CompileError(f"width={self.width} must be >= 1", self.name)
        if not 2 <= self.n_out <= 8:
            raise CompileError(f"n_out={self.n_out} must be in 2..8 consumers", self.name)

    def rtl(self) -> Instance:
        params = (("WIDTH", str(self.width)), ("N_OUT", str(self.n_out)))
        return Instance(self.rtl_module, self.name, params, rows=(2,), inline=True)

    def fork_ports(self, i: str, outs: list[str]) -> list[str]:
        """Port lines: input stream on wires `i`, output j on wires `outs[j]`."""
        rev = list(reversed(outs))
        return [
            ".clk(clk), .rst(rst)",
            f".in_data({i}_data), .in_valid({i}_valid), .in_ready({i}_ready)",
            f".out_data({{{', '.join(f'{o}_data' for o in rev)}}})",
            f".out_valid({{{', '.join(f'{o}_valid' for o in rev)}}})",
            f".out_ready({{{', '.join(f'{o}_ready' for o in rev)}}})",
        ]

    def rtl_ports(self, i: str, o: str) -> list[str]:
        return self.fork_ports(i, [f"{o}{j}" for j in range(self.n_out)])

    def hls_fork(self, i: str, outs: list[str]) -> str:
        from ..errors import CompileError

        if self.beats < 1:
            raise CompileError("HLS back end: a Fork needs its beats per frame", self.name)
        return f"    hw_fork<{self.width}, {self.beats}>({i}, {', '.join(outs)});\n"

    def hls(self, i: str, o: str) -> str:
        return self.hls_fork(i, [f"{o}{j}" for j in range(self.n_out)])

    def estimate(self, data: bool = True) -> Res:
        return estimate_fork(self.width, self.n_out)


def estimate_fork(width: int, n_out: int) -> Res:
    """hw_fork: n_out taken flags and their next-state logic (a LUT each), the valid
    gates (a LUT each) and an n_out-input AND for in_ready; the data is wiring."""
    return Res(lut=2 * n_out + max(1, -(-n_out // 5)), ff=n_out, notes=[f"{width}-bit wiring"])
