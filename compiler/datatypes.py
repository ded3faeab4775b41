"""Integer datatypes of stream elements and weights (see ARCHITECTURE.md, "values")."""

from __future__ import annotations

import re


class DataType(str):
    """BIPOLAR (-1/+1 as one bit), UINTk or INTk (two's complement, optionally narrow).

    The IR holds these objects; files (dataflow.json, top.json, reports) hold their
    names. A DataType is a `str` whose value is its name (`DataType.uint(2) == "UINT2"`,
    `json.dumps` writes "UINT2"), with the parsed fields `kind`, `bits` and `narrow`, so
    code written for names keeps working. Immutable."""

    kind: str  # "BIPOLAR" | "UINT" | "INT"
    bits: int
    narrow: bool

    def __new__(cls, kind: str, bits: int | None = None, narrow: bool = False) -> DataType:
        if bits is None:  # DataType("UINT2"): by name (what copy and pickle use)
            return DataType.parse(kind)
        name = "BIPOLAR" if kind == "BIPOLAR" else f"{kind}{bits}" + ("N" if narrow else "")
        self = super().__new__(cls, name)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "bits", int(bits))
        object.__setattr__(self, "narrow", bool(narrow))
        return self

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"DataType is immutable (setting {key})")

    def __getnewargs__(self) -> tuple:
        return (self.kind, self.bits, self.narrow)

    def __repr__(self) -> str:
        return f"DataType({self.name!r})"

    @property
    def name(self) -> str:
        return str.__str__(self)

    @property
    def signed(self) -> bool:
        return self.kind != "UINT"

    @property
    def min(self) -> int:
        if self.kind == "BIPOLAR":
            return -1
        if self.kind == "UINT":
            return 0
        return -(2 ** (self.bits - 1)) + (1 if self.narrow else 0)

    @property
    def max(self) -> int:
        if self.kind == "BIPOLAR":
            return 1
        if self.kind == "UINT":
            return 2**self.bits - 1
        return 2 ** (self.bits - 1) - 1

    @property
    def levels(self) -> int:
        """Number of distinct values."""
        return 2 if self.kind == "BIPOLAR" else self.max - self.min + 1

    def contains(self, value: int) -> bool:
        if self.kind == "BIPOLAR":
            return value in (-1, 1)
        return self.min <= value <= self.max

    @staticmethod
    def parse(name: str | DataType) -> DataType:
        """The datatype named `name` (a DataType is returned as it is)."""
        if isinstance(name, DataType):
            return name
        name = str(name) if isinstance(name, str) else name
        if name == "BIPOLAR":
            return BIPOLAR
        m = re.fullmatch(r"(UINT|INT)(\d+)(N?)", name) if isinstance(name, str) else None
        if not m:
            raise ValueError(f"unknown datatype '{name}'")
        return DataType(m.group(1), int(m.group(2)), m.group(3) == "N")

    @staticmethod
    def uint(bits: int) -> DataType:
        return DataType("UINT", bits)

    @staticmethod
    def int(bits: int, narrow: bool = False) -> DataType:
        return DataType("INT", bits, narrow)

    @staticmethod
    def smallest_int_holding(lo: int, hi: int) -> DataType:
        """Smallest signed type whose range covers [lo, hi]."""
        bits = 1
        while not (-(2 ** (bits - 1)) <= lo and hi <= 2 ** (bits - 1) - 1):
            bits += 1
        return DataType("INT", bits)

    @staticmethod
    def for_range(lo: int, hi: int) -> DataType:
        """UINTk when lo >= 0, else the smallest INTk (k >= 2)."""
        if lo >= 0:
            bits = max(1, int(hi).bit_length())
            return DataType("UINT", bits)
        return DataType.smallest_int_holding(lo, hi)


BIPOLAR = DataType("BIPOLAR", 1)
