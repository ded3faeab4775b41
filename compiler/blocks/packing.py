"""Lane packing: the one implementation of "lane l at bits [l*W +: W] of a word".

Every memory file, weight-stream image, HLS literal and simulator beat that halfwave
writes or reads packs its lanes with these functions (vectorised numpy, no Python loop
per element). Values are codes: non-negative, below 2**W (`twos` makes them from signed
values); signed lanes are two's complement.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def lane_bits(codes: np.ndarray, width: int) -> np.ndarray:
    """(depth, lanes) codes -> (depth, lanes*width) uint8 bits, bit b of lane l at
    column l*width + b (LSB first); only the low `width` bits of each code are taken."""
    codes = np.asarray(codes).astype(np.uint64)
    depth, lanes = codes.shape
    shifts = np.arange(width, dtype=np.uint64)
    bits = (codes[:, :, None] >> shifts) & np.uint64(1)
    return bits.astype(np.uint8).reshape(depth, lanes * width)


def pack_words(codes: np.ndarray, width: int) -> str:
    """Hex lines of a memory: ``codes`` is (depth, lanes) of non-negative lane codes below
    2**width; lane l occupies bits [l*width +: width] of its word (LSB first). Returns the
    file text, one word per line, most significant hex digit first."""
    bits = lane_bits(codes, width)
    depth, nbits = bits.shape
    ndig = max(1, -(-nbits // 4))
    if ndig * 4 != nbits:
        bits = np.concatenate([bits, np.zeros((depth, ndig * 4 - nbits), np.uint8)], axis=1)
    nib = bits.reshape(depth, ndig, 4) @ np.array([1, 2, 4, 8], dtype=np.uint8)
    chars = _HEX[nib[:, ::-1]]
    lines = np.concatenate([chars, np.full((depth, 1), ord("\n"), np.uint8)], axis=1)
    return lines.tobytes().decode("ascii")


def rom_bank_files(mem_file: str | Path, depth: int, bank_depth: int) -> list[Path]:
    """The bank files hw_ram (BANK_DEPTH) reads for a ROM of `depth` words: none when it
    is one bank."""
    if bank_depth <= 0 or depth <= bank_depth:
        return []
    p = Path(mem_file)
    return [p.with_name(f"{p.name}.b{k:03d}.mem") for k in range(-(-depth // bank_depth))]


def write_rom_banks(mem_file: str | Path, bank_depth: int) -> list[Path]:
    """Split a ROM's `pack_words` file into the bank files of hw_ram BANK_DEPTH (bank k:
    words k*bank_depth..); returns their paths."""
    lines = Path(mem_file).read_text().splitlines(keepends=True)
    paths = rom_bank_files(mem_file, len(lines), bank_depth)
    for k, path in enumerate(paths):
        path.write_text("".join(lines[k * bank_depth : (k + 1) * bank_depth]))
    return paths


def pack_bytes(codes: np.ndarray, width: int) -> np.ndarray:
    """(depth, lanes) codes -> (depth, ceil(lanes*width/8)) uint8: each word
    little-endian, unused top bits zero."""
    bits = lane_bits(codes, width)
    return np.packbits(bits, axis=1, bitorder="little")


def pack_words_bytes(codes: np.ndarray, width: int) -> bytes:
    """The words of `pack_words` as binary: ceil(lanes*width/8) bytes per word,
    little-endian (lane l at bits [l*width +: width] of the word), words in address
    order, unused top bits zero. What a DMA reads from DDR for a weight stream."""
    return pack_bytes(codes, width).tobytes()


def pack_lanes(values: np.ndarray, lane_width: int) -> np.ndarray:
    """(n, lanes) int values -> (n, bytes) uint8 beats. Lane `l` goes to bits
    [l*W +: W], little-endian bytes; each value is truncated to W bits two's complement
    (so -1 in a 4-bit lane is 0xF). Unused top bits are zero."""
    values = np.asarray(values, dtype=np.int64)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D (n_beats, lanes), got shape {values.shape}")
    if not 1 <= lane_width <= 64:
        raise ValueError(f"lane_width must be in 1..64, got {lane_width}")
    return pack_bytes(values.astype(np.uint64), lane_width)


def twos(values: np.ndarray, width: int, what: str) -> np.ndarray:
    """Two's complement codes of signed ``values`` in ``width`` bits (range-checked)."""
    if width > 63:
        raise ValueError(f"{what}: {width}-bit values are not supported (at most 63)")
    v = np.asarray(values, dtype=np.int64)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"{what}: values outside the {width}-bit signed range [{lo}, {hi}]")
    return (v & ((1 << width) - 1)).astype(np.uint64)


def varying_bits(codes: np.ndarray, width: int) -> int:
    """Bits of a memory word that are not constant over all words (Yosys drops those)."""
    codes = np.asarray(codes, dtype=np.uint64)
    if codes.shape[0] <= 1:
        return 0
    b = lane_bits(codes, width)
    return int(np.count_nonzero(b.min(axis=0) != b.max(axis=0)))
