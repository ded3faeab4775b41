"""$readmemh memory files of the RTL blocks (layouts in ARCHITECTURE.md, "Memory files").

Vectorised numpy: no Python loop per element, so a 1024 x 1024 layer packs in well under
a second. Values follow the integer-code convention: bipolar/binary weights are -1/+1
(stored as bit 0/1), wider weights and thresholds are two's complement.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def pack_words(codes: np.ndarray, width: int) -> str:
    """Hex lines of a memory: ``codes`` is (depth, lanes) of non-negative lane codes below
    2**width; lane l occupies bits [l*width +: width] of its word (LSB first). Returns the
    file text, one word per line, most significant hex digit first."""
    codes = np.asarray(codes, dtype=np.uint64)
    depth, lanes = codes.shape
    nbits = lanes * width
    shifts = np.arange(width, dtype=np.uint64)
    bits = ((codes[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8)
    bits = bits.reshape(depth, nbits)
    ndig = max(1, _ceil_div(nbits, 4))
    if ndig * 4 != nbits:
        bits = np.concatenate([bits, np.zeros((depth, ndig * 4 - nbits), np.uint8)], axis=1)
    nib = bits.reshape(depth, ndig, 4) @ np.array([1, 2, 4, 8], dtype=np.uint8)
    chars = _HEX[nib[:, ::-1]]
    lines = np.concatenate([chars, np.full((depth, 1), ord("\n"), np.uint8)], axis=1)
    return lines.tobytes().decode("ascii")


def _twos(values: np.ndarray, width: int, what: str) -> np.ndarray:
    """Two's complement codes of signed ``values`` in ``width`` bits (range-checked)."""
    if width > 63:
        raise ValueError(f"{what}: {width}-bit values are not supported (at most 63)")
    v = np.asarray(values, dtype=np.int64)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"{what}: values outside the {width}-bit signed range [{lo}, {hi}]")
    return (v & ((1 << width) - 1)).astype(np.uint64)


def mvu_weight_codes(weights: np.ndarray, pe: int, simd: int, w_w: int) -> np.ndarray:
    """(NF*SF, PE*SIMD) lane codes of the MVU weight memory: address nf*SF+sf, lane
    p*SIMD+s holds the weight of row nf*PE+p, column sf*SIMD+s (padding holds 0).
    ``w_w == 1``: weights must be -1/+1 (stored as 0/1); otherwise signed two's complement."""
    w = np.asarray(weights, dtype=np.int64)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D (MH, MW) matrix, got shape {w.shape}")
    mh, mw = w.shape
    if not (1 <= pe <= mh and 1 <= simd <= mw):
        raise ValueError(f"PE={pe} must be in 1..MH={mh} and SIMD={simd} in 1..MW={mw}")
    if w_w == 1:
        if not np.isin(w, (-1, 1)).all():
            raise ValueError("1-bit weights must be -1 or +1")
        codes = (w > 0).astype(np.uint64)
    else:
        codes = _twos(w, w_w, "weights")
    nf, sf = _ceil_div(mh, pe), _ceil_div(mw, simd)
    padded = np.zeros((nf * pe, sf * simd), dtype=np.uint64)
    padded[:mh, :mw] = codes
    lanes = padded.reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3)
    return lanes.reshape(nf * sf, pe * simd)


def mvu_threshold_codes(thresholds: np.ndarray, pe: int, acc_w: int) -> np.ndarray:
    """(NF, PE*N_T) lane codes of the threshold memory: address nf, lane p*N_T+t holds
    threshold t (ascending) of row nf*PE+p, ACC_W-bit two's complement."""
    t = np.asarray(thresholds, dtype=np.int64)
    if t.ndim != 2:
        raise ValueError(f"thresholds must be a 2-D (MH, N_T) array, got shape {t.shape}")
    if t.shape[1] > 1 and (np.diff(t, axis=1) < 0).any():
        raise ValueError("thresholds must be ascending along each row")
    mh, n_t = t.shape
    nf = _ceil_div(mh, pe)
    padded = np.zeros((nf * pe, n_t), dtype=np.uint64)
    padded[:mh] = _twos(t, acc_w, "thresholds")
    return padded.reshape(nf, pe * n_t)


def write_mvu_mem_files(
    weights: np.ndarray,
    thresholds: np.ndarray | None,
    pe: int,
    simd: int,
    w_w: int,
    acc_w: int,
    path: str | Path,
) -> tuple[Path, Path | None]:
    """Write ``<path>_weights.mem`` and, when there are thresholds (shape (MH, N_T) with
    N_T > 0), ``<path>_thresholds.mem`` for hw_mvu; returns the two paths (the second is
    None without thresholds). ``weights`` is (MH, MW) integer values."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wfile = path.with_name(path.name + "_weights.mem")
    wfile.write_text(pack_words(mvu_weight_codes(weights, pe, simd, w_w), w_w))
    tfile = None
    if thresholds is not None and np.asarray(thresholds).size:
        if np.asarray(thresholds).shape[0] != np.asarray(weights).shape[0]:
            raise ValueError("thresholds need one row per weight row")
        tfile = path.with_name(path.name + "_thresholds.mem")
        tfile.write_text(pack_words(mvu_threshold_codes(thresholds, pe, acc_w), acc_w))
    return wfile, tfile


def pack_words_bytes(codes: np.ndarray, width: int) -> bytes:
    """The words of `pack_words` as binary: ceil(lanes*width/8) bytes per word,
    little-endian (lane l at bits [l*width +: width] of the word), words in address
    order, unused top bits zero. What a DMA reads from DDR for a weight stream."""
    codes = np.asarray(codes, dtype=np.uint64)
    depth, lanes = codes.shape
    nbits = lanes * width
    shifts = np.arange(width, dtype=np.uint64)
    bits = ((codes[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8).reshape(depth, nbits)
    return np.packbits(bits, axis=1, bitorder="little").tobytes()


def write_mvu_weight_stream(
    weights: np.ndarray, pe: int, simd: int, w_w: int, path: str | Path
) -> Path:
    """``<path>_wstream.bin``: the words of ``<path>_weights.mem`` (same lanes, same
    order: nf*SF + sf) as `pack_words_bytes` binary, one pass of an external weight
    stream (hw_mvu WEIGHT_SOURCE = "stream")."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bfile = path.with_name(path.name + "_wstream.bin")
    bfile.write_bytes(pack_words_bytes(mvu_weight_codes(weights, pe, simd, w_w), w_w))
    return bfile


def mvu_swap_codes(swap: np.ndarray, pe: int) -> np.ndarray:
    """Per-row swap flags (MH,) of a ternary MVU -> (NF, PE) bits, padding rows 0."""
    swap = np.asarray(swap, dtype=np.int64).reshape(-1)
    nf = _ceil_div(len(swap), pe)
    padded = np.zeros(nf * pe, dtype=np.int64)
    padded[: len(swap)] = swap != 0
    return padded.reshape(nf, pe)


def write_swap_file(swap: np.ndarray, pe: int, path: str | Path) -> Path:
    """``<path>_swap.mem`` for a MODE 3 (ternary) hw_mvu: word nf, bit p = row nf*PE+p
    uses (WN, WP) for codes (+1, -1) instead of (WP, WN)."""
    path = Path(path)
    sfile = path.with_name(path.name + "_swap.mem")
    sfile.write_text(pack_words(mvu_swap_codes(swap, pe), 1))
    return sfile
