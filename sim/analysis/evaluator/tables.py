"""Tables and output folders, shared by every analysis tool.

**Tables**: :func:`write_table` writes ``<name>.parquet`` (pyarrow) and, when
the table has at most :data:`SMALL_TABLE_ROWS` rows, ``<name>.csv`` beside
it; without pyarrow it writes the CSV only and says so. Both are atomic.
:func:`read_table` reads either back; :func:`markdown_table` renders a table
for a report without an extra dependency.

**Output folders**: :func:`new_output_folder` gives a tool's run a fresh
``results/<kind>/<time>-<label>`` (never an existing one). Long work shows
:func:`progress_bar` (tqdm, on stderr).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.atomic import atomic_write, new_folder

#: Tables with at most this many rows get a CSV beside their Parquet file.
SMALL_TABLE_ROWS = 10_000


def parquet_available() -> bool:
    """Whether pyarrow (Parquet) can be imported."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def write_table(df: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    """``<name>.parquet`` and, for at most :data:`SMALL_TABLE_ROWS` rows, ``<name>.csv``.

    Both written atomically. Without pyarrow only the CSV is written, whatever
    the size, with a note on stderr. Returns the files written.
    """
    import io

    folder = Path(folder)
    written = []
    if parquet_available():
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        written.append(atomic_write(folder / f"{name}.parquet", buf.getvalue()))
    elif len(df) > SMALL_TABLE_ROWS:
        print(
            f"note: pyarrow is not installed: {folder / name}.csv ({len(df)} rows) is written "
            "as CSV only (pip install pyarrow for Parquet)",
            file=sys.stderr,
        )
    if len(df) <= SMALL_TABLE_ROWS or not written:
        text = df.to_csv(index=False, float_format="%.17g", lineterminator="\n")
        written.append(atomic_write(folder / f"{name}.csv", text))
    return written


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """A table written by :func:`write_table` (Parquet if there, else CSV)."""
    folder = Path(folder)
    if (folder / f"{name}.parquet").exists() and parquet_available():
        return pd.read_parquet(folder / f"{name}.parquet")
    return pd.read_csv(folder / f"{name}.csv", keep_default_na=False, na_values=["NaN", "nan"])


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""

    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "NaN" if math.isnan(v) else format(float(v), floatfmt)
        return str(v)

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def new_output_folder(kind: str, label: str, out: str | Path | None = None) -> Path:
    """A fresh output folder ``results/<kind>/<time>-<label>`` (never an existing one).

    ``out``: a folder inside the results folder, new or empty. Otherwise the
    folder is created exclusively (:func:`sim.atomic.new_folder`: two tools
    started in the same second get ``...-2``).
    """
    from sim.errors import ConfigError
    from sim.paths import results_dir
    from sim.validate import inside_results

    if out is not None:
        path = inside_results(Path(out), "--out")
        if path.exists() and any(path.iterdir()):
            raise ConfigError(
                f"command line: --out = {str(out)!r} is not allowed; allowed: a new or empty "
                "folder (to continue an earlier run use --resume FOLDER)"
            )
        path.mkdir(parents=True, exist_ok=True)
        return path
    return new_folder(results_dir() / kind / f"{time.strftime('%Y%m%d-%H%M%S')}-{label}")


def progress_bar(total: int, desc: str, enabled: bool = True, initial: int = 0):
    """A tqdm bar on stderr."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="run",
        disable=not enabled,
        file=sys.stderr,
        mininterval=1.0,
        dynamic_ncols=True,
    )
