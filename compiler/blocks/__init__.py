"""One module per block kind: everything the compiler knows about a hardware block.

Layer blocks (the IR's nodes): `mvu.MVU`, `swg.SlidingWindow`, `maxpool.MaxPool`,
`avgpool.AvgPool`, `topk.TopK`, and the joins `add.Add`, `concat.Concat`. Structural blocks
the netlist places between them: `fifo.Fifo`, `repack.LaneRepack`, `fork.Fork` (a stream
with several consumers), and the system adapter `weight_port.WeightPort` (weights in DDR).
Each implements `base.Block`; see ARCHITECTURE.md, "Adding a block kind".
"""

from .add import Add
from .avgpool import AvgPool
from .base import Block, Boundary, Instance
from .concat import Concat
from .fifo import Fifo, fifo_block
from .fork import Fork
from .maxpool import MaxPool
from .mvu import MVU, Mode
from .repack import LaneRepack
from .swg import SlidingWindow
from .topk import TopK
from .weight_port import WeightPort

# the layer kinds dataflow.json may hold, by their "kind"
LAYER_KINDS = {cls.__dataclass_fields__["kind"].default: cls
               for cls in (MVU, TopK, SlidingWindow, MaxPool, AvgPool, Add, Concat)}  # fmt: skip

__all__ = [
    "LAYER_KINDS",
    "MVU",
    "Add",
    "AvgPool",
    "Block",
    "Boundary",
    "Concat",
    "Fifo",
    "fifo_block",
    "Fork",
    "Instance",
    "LaneRepack",
    "MaxPool",
    "Mode",
    "SlidingWindow",
    "TopK",
    "WeightPort",
]
