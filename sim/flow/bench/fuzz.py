"""Mutation fuzzing of the compiler: bad QONNX files never crash it and never build
wrong hardware.

Source models: a small Brevitas conv network and an FC one (exported with Brevitas'
export_qonnx). Each mutant is one of MUTATIONS applied with a seeded generator and fed
to the compiler in-process. Outcomes:

- ``refused``: a CompileError whose message is one line (the CLI prints it, exit 2);
- ``built``: compiled, and golden == QONNX float64 execution on random inputs;
- ``traceback``: any other exception (a bug);
- ``wrong``: compiled but the golden executor disagrees with QONNX float64, or QONNX
  cannot execute what the compiler accepted (a bug);
- ``hang``: no answer within the per-mutant timeout (a bug).

``python -m halfwave.flow.bench.fuzz --n 1000 --out bench/fuzz.json`` writes the
counts per mutation kind.
"""

from __future__ import annotations

import argparse
import json
import signal
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from halfwave.compiler.errors import CompileError

OUTCOMES = ("refused", "built", "traceback", "wrong", "hang")
UNSUPPORTED_OPS = ["Sigmoid", "Softmax", "LSTM", "Gather", "NotAnOp", "Tanh", "Concat"]
ODD_DTYPES = [np.float16, np.float64, np.int64, np.int8, np.uint8, np.int32, np.bool_]


# ---------------------------------------------------------------- source models


def brevitas_sources(out: Path, seed: int = 0) -> dict[str, Path]:
    """A small Brevitas conv network (8-bit input, 4-bit and binary conv weights,
    BatchNorm, QuantReLU, a max pool, an FC head) and an FC one, exported to QONNX."""
    import brevitas.nn as qnn
    import torch
    from brevitas.export import export_qonnx
    from brevitas.quant import SignedBinaryWeightPerTensorConst as Binary

    torch.manual_seed(seed)
    act = dict(return_quant_tensor=True)
    conv = torch.nn.Sequential(
        qnn.QuantIdentity(bit_width=8, **act),
        qnn.QuantConv2d(1, 4, 3, bias=False, weight_bit_width=4),
        torch.nn.BatchNorm2d(4),
        qnn.QuantReLU(bit_width=2, **act),
        torch.nn.MaxPool2d(2),
        qnn.QuantConv2d(4, 6, 3, bias=False, weight_quant=Binary),
        torch.nn.BatchNorm2d(6),
        qnn.QuantReLU(bit_width=2, **act),
        torch.nn.Flatten(),
        qnn.QuantLinear(24, 5, bias=True, weight_bit_width=3),
    )
    fc = torch.nn.Sequential(
        qnn.QuantIdentity(bit_width=6, **act),
        qnn.QuantLinear(16, 12, bias=True, weight_bit_width=4),
        torch.nn.BatchNorm1d(12),
        qnn.QuantReLU(bit_width=2, **act),
        qnn.QuantLinear(12, 5, bias=False, weight_quant=Binary),
    )
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, net, shape in (("conv", conv, (1, 1, 10, 10)), ("fc", fc, (1, 16))):
        gen = torch.Generator().manual_seed(seed)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen))
                m.running_var.copy_(torch.rand(n, generator=gen) * 4 + 0.1)
                m.weight.data.copy_(torch.randn(n, generator=gen))
        net.eval()
        paths[name] = out / f"{name}.onnx"
        export_qonnx(net, torch.randn(*shape), export_path=str(paths[name]))
    return paths


# ---------------------------------------------------------------- mutations

Mutation = Callable[[onnx.ModelProto, np.random.Generator], bytes]


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    return m


def _ser(model: onnx.ModelProto) -> bytes:
    return model.SerializeToString()


def truncate(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    data = _ser(model)
    return data[: int(rng.integers(0, len(data)))]


def flip_bytes(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    data = bytearray(_ser(model))
    for _ in range(int(rng.integers(1, 6))):
        i = int(rng.integers(len(data)))
        data[i] ^= 1 << int(rng.integers(8))
    return bytes(data)


def drop_node(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    m = _copy(model)
    del m.graph.node[int(rng.integers(len(m.graph.node)))]
    return _ser(m)


def _attr_value(rng: np.random.Generator, a: onnx.AttributeProto):
    """A replacement value of the attribute's kind: out of range, empty, or odd."""
    if a.type == onnx.AttributeProto.INTS:
        n = len(a.ints)
        return _pick(rng, [[], [0] * n, [-1] * n, [1] * (n + 1), [99] * n, list(a.ints)[::-1]])
    if a.type == onnx.AttributeProto.INT:
        return _pick(rng, [0, -1, 2, 7, 1 << 40])
    if a.type == onnx.AttributeProto.FLOAT:
        return _pick(rng, [0.0, -1.0, float("nan"), float("inf"), 1e30])
    if a.type == onnx.AttributeProto.STRING:
        return _pick(rng, ["", "FLOOR", "CEIL", "UNKNOWN", "NHWC", "INT99"])
    return None


def change_attr(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    m = _copy(model)
    nodes = [n for n in m.graph.node if n.attribute]
    if not nodes:
        return drop_node(model, rng)
    node = _pick(rng, nodes)
    i = int(rng.integers(len(node.attribute)))
    a = node.attribute[i]
    value = _attr_value(rng, a) if rng.random() < 0.85 else None
    if value is None:
        del node.attribute[i]
    else:
        node.attribute[i].CopyFrom(helper.make_attribute(a.name, value, attr_type=a.type))
    return _ser(m)


def _init_index(m: onnx.ModelProto, rng: np.random.Generator) -> int:
    return int(rng.integers(len(m.graph.initializer)))


def _redeclare(m: onnx.ModelProto, t: TensorProto, rng: np.random.Generator) -> None:
    """Half the time, a graph input declaring the initialiser is updated too (a consistent
    file with a wrong tensor), else the file contradicts itself."""
    vi = next((v for v in m.graph.input if v.name == t.name), None)
    if vi is not None and rng.random() < 0.5:
        vi.CopyFrom(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))


def init_shape(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    m = _copy(model)
    i = _init_index(m, rng)
    t = m.graph.initializer[i]
    arr = numpy_helper.to_array(t)
    choice = int(rng.integers(4))
    if choice == 0:  # one more element along a random axis (or a 2-vector for a scalar)
        axis = int(rng.integers(arr.ndim)) if arr.ndim else 0
        arr = np.concatenate([arr, arr], axis=axis) if arr.ndim else np.stack([arr, arr])
    elif choice == 1:  # flattened
        arr = arr.reshape(-1)
    elif choice == 2:  # an extra leading axis
        arr = arr[None]
    else:  # empty
        arr = arr.reshape(-1)[:0]
    t.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(arr), t.name))
    _redeclare(m, t, rng)
    return _ser(m)


def init_dtype(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    m = _copy(model)
    i = _init_index(m, rng)
    t = m.graph.initializer[i]
    arr = numpy_helper.to_array(t)
    dt = _pick(rng, ODD_DTYPES)
    with np.errstate(all="ignore"):
        new = arr.astype(dt)
    t.CopyFrom(numpy_helper.from_array(new, t.name))
    _redeclare(m, t, rng)
    return _ser(m)


def init_nonfinite(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    m = _copy(model)
    floats = [i for i, t in enumerate(m.graph.initializer) if t.data_type == TensorProto.FLOAT]
    i = _pick(rng, floats) if floats else _init_index(m, rng)
    t = m.graph.initializer[i]
    arr = numpy_helper.to_array(t).astype(np.float32).copy()
    flat = arr.reshape(-1)
    if flat.size:
        flat[int(rng.integers(flat.size))] = _pick(rng, [np.nan, np.inf, -np.inf])
    t.CopyFrom(numpy_helper.from_array(arr, t.name))
    return _ser(m)


def init_value(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    """A legal-looking change of values: one constant scaled, negated or one element
    replaced (the compiler must either refuse or build hardware that is still right)."""
    m = _copy(model)
    floats = [i for i, t in enumerate(m.graph.initializer) if t.data_type == TensorProto.FLOAT]
    t = m.graph.initializer[_pick(rng, floats)]
    arr = numpy_helper.to_array(t).astype(np.float32).copy()
    choice = int(rng.integers(3))
    if choice == 0:
        arr *= np.float32(_pick(rng, [-1.0, 0.5, 2.0, 1 / 3, 0.0]))
    elif arr.size:
        flat = arr.reshape(-1)
        flat[int(rng.integers(flat.size))] = np.float32(rng.normal(0, 3))
    t.CopyFrom(numpy_helper.from_array(arr, t.name))
    return _ser(m)


def unsupported_op(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    m = _copy(model)
    node = _pick(rng, list(m.graph.node))
    node.op_type = _pick(rng, UNSUPPORTED_OPS)
    if rng.random() < 0.3:
        node.domain = _pick(rng, ["", "com.example.custom", "qonnx.custom_op.general"])
    return _ser(m)


def dangling_input(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    m = _copy(model)
    nodes = [n for n in m.graph.node if n.input]
    node = _pick(rng, nodes)
    node.input[int(rng.integers(len(node.input)))] = "does_not_exist"
    return _ser(m)


def swap_inputs(model: onnx.ModelProto, rng: np.random.Generator) -> bytes:
    m = _copy(model)
    nodes = [n for n in m.graph.node if len(n.input) >= 2]
    node = _pick(rng, nodes)
    i, j = rng.choice(len(node.input), 2, replace=False)
    node.input[int(i)], node.input[int(j)] = node.input[int(j)], node.input[int(i)]
    return _ser(m)


MUTATIONS: dict[str, Mutation] = {
    "truncate": truncate,
    "flip_bytes": flip_bytes,
    "drop_node": drop_node,
    "change_attr": change_attr,
    "init_shape": init_shape,
    "init_dtype": init_dtype,
    "init_nonfinite": init_nonfinite,
    "init_value": init_value,
    "unsupported_op": unsupported_op,
    "dangling_input": dangling_input,
    "swap_inputs": swap_inputs,
}


# ---------------------------------------------------------------- running one mutant


@dataclass
class Outcome:
    kind: str
    source: str
    index: int
    status: str  # one of OUTCOMES
    message: str = ""


class _Timeout(Exception):
    pass


def _alarm(_signum, _frame):
    raise _Timeout()


def check_compiled(onnx_path: Path, df, frames: int, seed: int) -> str:
    """'' when golden == QONNX float64 at every boundary on `frames` random inputs,
    else what went wrong."""
    from .. import verify as ladder
    from ..api import verification_inputs

    x = verification_inputs(df, frames, seed)
    try:
        ref = ladder.qonnx_rung(onnx_path, df, x, float64=True)
    except Exception as exc:
        return f"QONNX cannot execute the accepted model: {type(exc).__name__}: {exc}"
    cmp = ladder.compare(ref, ladder.golden_rung(df, x))
    if cmp.mismatched_frames or ref.margin >= ladder.MARGIN_LIMIT:
        return f"golden != QONNX float64: {cmp.line()} (margin {ref.margin:.1e})"
    return ""


def run_mutant(
    data: bytes, work: Path, frames: int = 4, seed: int = 0, timeout_s: int = 60, full=True
) -> tuple[str, str]:
    """Compile one mutant (bytes of an .onnx file) in-process: (status, message)."""
    from halfwave.compiler.compile import compile_model

    work.mkdir(parents=True, exist_ok=True)
    path = work / "mutant.onnx"
    path.write_bytes(data)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout_s)
    try:
        if full:
            df = compile_model(path, work / "build")
        else:
            df = _lower_and_fold(path)
        problem = check_compiled(path, df, frames, seed)
        return ("wrong", problem) if problem else ("built", "")
    except CompileError as exc:
        msg = str(exc)
        if not msg.strip() or "\n" in msg.strip():
            return "traceback", f"CompileError not one sentence: {msg!r}"
        return "refused", msg
    except _Timeout:
        return "hang", f"no answer in {timeout_s} s"
    except Exception as exc:
        tb = traceback.format_exc(limit=-3)
        return "traceback", f"{type(exc).__name__}: {exc}\n{tb}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _lower_and_fold(path: Path):
    """compile_model without writing files (the fast path of the test suite)."""
    from halfwave.compiler.fifos import size_fifos
    from halfwave.compiler.folding import fold
    from halfwave.compiler.lower import lower
    from halfwave.compiler.onnx_graph import load_qonnx

    df = lower(load_qonnx(path), path.stem)
    return size_fifos(fold(df, None, None), {})


def mutants(sources: dict[str, Path], n: int, seed: int):
    """n (kind, source name, index, bytes), the kinds in turn, sources alternating."""
    models = {k: onnx.load(str(p)) for k, p in sorted(sources.items())}
    names = list(models)
    kinds = list(MUTATIONS)
    rng = np.random.default_rng(seed)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        src = names[(i // len(kinds)) % len(names)]
        yield kind, src, i, MUTATIONS[kind](models[src], rng)


def fuzz(
    sources: dict[str, Path],
    n: int,
    seed: int = 0,
    work: Path | None = None,
    full: bool = True,
    timeout_s: int = 60,
    log: Callable[[str], None] = lambda s: None,
) -> list[Outcome]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(work or tmp)
        for kind, src, i, data in mutants(sources, n, seed):
            status, msg = run_mutant(data, base / f"m{i}", 3, i, timeout_s, full)
            out.append(Outcome(kind, src, i, status, msg))
            if status not in ("refused", "built"):
                log(f"mutant {i} ({kind} of {src}): {status}: {msg.splitlines()[0][:300]}")
    return out


def summary(outcomes: list[Outcome]) -> dict:
    per_kind: dict[str, Counter] = {}
    for o in outcomes:
        per_kind.setdefault(o.kind, Counter())[o.status] += 1
    total = Counter(o.status for o in outcomes)
    return {
        "mutants": len(outcomes),
        "total": {s: total.get(s, 0) for s in OUTCOMES},
        "per_kind": {k: {s: c.get(s, 0) for s in OUTCOMES} for k, c in per_kind.items()},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=int, default=60, help="seconds per mutant")
    p.add_argument("--out", type=Path, default=None, help="bench/fuzz.json")
    p.add_argument("--fast", action="store_true", help="lower and fold only, no files")
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a fuzz.json of the same run on older code: kept as 'before_fixes'",
    )
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sources = brevitas_sources(Path(tmp) / "src", a.seed)
        outcomes = fuzz(sources, a.n, a.seed, full=not a.fast, timeout_s=a.timeout, log=print)
    doc = summary(outcomes)
    doc["seed"] = a.seed
    doc["timeout_s_per_mutant"] = a.timeout
    doc["sources"] = "Brevitas conv (1x10x10 -> 2 convs, pool -> FC 5) and FC (16 -> 12 -> 5)"
    doc["wall_s"] = round(time.perf_counter() - t0, 1)
    doc["examples"] = {
        s: [f"{o.kind}/{o.source}#{o.index}: {o.message.splitlines()[0][:200]}"
            for o in outcomes if o.status == s][:8]
        for s in ("traceback", "wrong", "hang")
    }  # fmt: skip
    if a.baseline:
        before = json.loads(a.baseline.read_text())
        doc["before_fixes"] = {
            k: before[k] for k in ("total", "per_kind", "examples") if k in before
        }
    print(json.dumps({k: doc[k] for k in ("mutants", "total", "per_kind", "wall_s")}, indent=1))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(doc, indent=1) + "\n")
    bad = sum(doc["total"][s] for s in ("traceback", "wrong", "hang"))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
