#!/usr/bin/env python
"""Build the CSV served by the test DaCHS TAP service (table dimred_test.main).

Input: tests/data/gaia_dr3_sample_1000.fits (1,000 real Gaia DR3 gaia_source rows).
Output: tests/servers/dachs/gaia_sample.csv (committed; regenerate with this script).

Columns (shaped like the seed query's result, Gaia DR3 x StarHorse-like):
  source_id, ra, dec, parallax, pmra, pmdec      copied from Gaia DR3
  xgal, ygal, zgal   Galactocentric cartesian position [kpc] from ra/dec/parallax
                     (astropy Galactocentric frame, astropy's default parameters
                     pinned to the "v4.0" set so the output is deterministic)
  bprp0              = bp_rp [mag] (no extinction correction: a stand-in)
  mg0                = phot_g_mean_mag + 5 log10(parallax / 100) [mag], parallax in mas
  random_index       0..N-1, the rank of Gaia's own random_index (deterministic)

Derived values are empty (-> NULL in the database) where an input is missing or
parallax <= 0. Empty CSV fields are NULLs for the RD's rowmaker.
"""
from __future__ import annotations

import argparse
import csv
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_IN = HERE.parent.parent / "data" / "gaia_dr3_sample_1000.fits"
DEFAULT_OUT = HERE / "gaia_sample.csv"

COLUMNS = ["source_id", "ra", "dec", "parallax", "pmra", "pmdec",
           "xgal", "ygal", "zgal", "bprp0", "mg0", "random_index"]


def _filled(col) -> tuple[np.ndarray, np.ndarray]:
    """(float values, missing mask) for a possibly-masked column."""
    vals = np.asarray(np.ma.getdata(col), dtype=float)
    missing = np.asarray(np.ma.getmaskarray(col)) | ~np.isfinite(vals)
    return vals, missing


def build(fits_path: Path) -> list[dict]:
    import astropy.units as u
    from astropy.coordinates import Galactocentric, SkyCoord, galactocentric_frame_defaults
    from astropy.table import Table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unparseable Gaia units in unrelated columns
        t = Table.read(fits_path)
    t.sort("source_id")
    n = len(t)

    ra, ra_m = _filled(t["ra"])
    dec, dec_m = _filled(t["dec"])
    plx, plx_m = _filled(t["parallax"])
    g, g_m = _filled(t["phot_g_mean_mag"])
    bprp, bprp_m = _filled(t["bp_rp"])

    good_pos = ~(ra_m | dec_m | plx_m) & (plx > 0)
    xyz = np.full((3, n), np.nan)
    if good_pos.any():
        with galactocentric_frame_defaults.set("v4.0"):
            c = SkyCoord(ra=ra[good_pos] * u.deg, dec=dec[good_pos] * u.deg,
                         distance=(plx[good_pos] * u.mas).to(u.kpc, u.parallax()),
                         frame="icrs")
            gc = c.transform_to(Galactocentric())
        xyz[0, good_pos] = gc.x.to_value(u.kpc)
        xyz[1, good_pos] = gc.y.to_value(u.kpc)
        xyz[2, good_pos] = gc.z.to_value(u.kpc)

    good_mg = good_pos & ~g_m
    mg0 = np.full(n, np.nan)
    mg0[good_mg] = g[good_mg] + 5.0 * np.log10(plx[good_mg] / 100.0)
    bprp0 = np.where(bprp_m, np.nan, bprp)

    # deterministic 0..N-1 index: rank of Gaia's random_index (ties broken by source_id)
    order = np.lexsort((np.asarray(t["source_id"]), np.asarray(t["random_index"])))
    rindex = np.empty(n, dtype=np.int64)
    rindex[order] = np.arange(n)

    def fmt(v: float, digits: int) -> str:
        return "" if not np.isfinite(v) else f"{v:.{digits}f}"

    rows = []
    for i in range(n):
        rows.append({
            "source_id": str(int(t["source_id"][i])),
            "ra": fmt(ra[i] if not ra_m[i] else np.nan, 12),
            "dec": fmt(dec[i] if not dec_m[i] else np.nan, 12),
            "parallax": fmt(plx[i] if not plx_m[i] else np.nan, 6),
            "pmra": fmt(float(np.ma.getdata(t["pmra"][i])) if not np.ma.is_masked(t["pmra"][i]) else np.nan, 6),
            "pmdec": fmt(float(np.ma.getdata(t["pmdec"][i])) if not np.ma.is_masked(t["pmdec"][i]) else np.nan, 6),
            "xgal": fmt(xyz[0, i], 6),
            "ygal": fmt(xyz[1, i], 6),
            "zgal": fmt(xyz[2, i], 6),
            "bprp0": fmt(bprp0[i], 6),
            "mg0": fmt(mg0[i], 6),
            "random_index": str(int(rindex[i])),
        })
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, default=DEFAULT_IN)
    ap.add_argument("--output", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    rows = build(args.input)
    tmp = args.output.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(args.output)
    nulls = {c: sum(1 for r in rows if r[c] == "") for c in COLUMNS}
    print(f"wrote {len(rows)} rows to {args.output}; NULLs per column: "
          + ", ".join(f"{c}={k}" for c, k in nulls.items() if k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
