#!/usr/bin/env python3
"""Write gaia_sample.csv repeated to N rows: the CSV of the test DaCHS table dimred_test.large.

Row i (0-based) holds the values of gaia_sample.csv row i mod 1000, NULLs included, with
source_id = i + 1 (unique, so ORDER BY source_id is a total order) and random_index a shuffled
0..N-1 (fixed seed), so a chunked fetch over random_index ranges draws rows from the whole table
as it would from Gaia's own random_index. Standard library only: import_large.sh runs it as root
with whatever python3 the machine has.

    make_large_table.py --rows 1000000 --output /var/gavo/inputs/dimred_test/large.csv
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent / "gaia_sample.csv"


def expected_source_row(source_id: int, sample_rows: int) -> int:
    """The gaia_sample.csv row (0-based, header excluded) that row `source_id` repeats."""
    return (source_id - 1) % sample_rows


def write_large_table(n_rows: int, out: Path, *, seed: int = 20241205, sample: Path = SAMPLE) -> None:
    with open(sample, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    random_index = list(range(n_rows))
    random.Random(seed).shuffle(random_index)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for i in range(n_rows):
            row = dict(rows[expected_source_row(i + 1, len(rows))])
            row["source_id"] = str(i + 1)
            row["random_index"] = str(random_index[i])
            writer.writerow(row)
    tmp.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, required=True, help="N, the number of rows")
    parser.add_argument("--output", type=Path, required=True, help="CSV to write")
    args = parser.parse_args()
    write_large_table(args.rows, args.output)


if __name__ == "__main__":
    main()
