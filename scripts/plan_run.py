#!/usr/bin/env python3
"""Plan the run before it computes anything: what it will reuse from storage, compute and upload, and
its estimated cost (dimred_flow/estimate.py); stop it when the estimate exceeds the config's quota."""

import argparse
import json
from pathlib import Path

from dimred_flow.cli import read_json, run, setup_logging, write_json
from dimred_flow.estimate import Stored, capped_rows, check_quota, describe, estimate_run, tap_row_bound
from dimred_flow.tables import count_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, type=json.loads, help="the run's validated config, as JSON")
    parser.add_argument("--run", required=True, help="the run's fingerprint")
    parser.add_argument("--inventory", required=True, type=Path, help="the plots storage holds (list_stored_plots)")
    parser.add_argument("--stability-inventory", required=True, type=Path, help="list_stored_stability's answer")
    parser.add_argument("--catalogue-inventory", required=True, type=Path, help="list_stored_catalogue's answer")
    parser.add_argument("--source", type=Path, help="the table file the run reads, where it has one")
    parser.add_argument("--cores", type=int, required=True, help="cores the local scheduler may use")
    parser.add_argument("--out", required=True, type=Path, help="the plan as JSON")
    parser.add_argument("--text", required=True, type=Path, help="the plan in a dozen lines")
    args = parser.parse_args()
    setup_logging("plan_run")

    config = args.config
    if args.source:
        rows, known = count_rows(args.source), f"counted in {args.source.name}"
    else:
        rows, known = tap_row_bound(config), "at most, by source.tap.maxrec"
    rows = capped_rows(config, rows)
    catalogue = read_json(args.catalogue_inventory)["stored"]
    stored = Stored(
        plots=frozenset(int(i) for i in read_json(args.inventory)["stored"]),
        stability=read_json(args.stability_inventory)["stored"] is not None,
        catalogue_bytes=sum(entry["size"] for entry in catalogue["files"].values()) if catalogue else None,
    )
    source_bytes = args.source.stat().st_size if args.source else None
    summary = estimate_run(config, rows, known, source_bytes, stored).as_dict(args.cores)
    text = describe(summary, config, args.run)
    write_json(args.out, summary)
    args.text.write_text(text)
    print(text, end="", flush=True)
    check_quota(summary, config["quota"])


if __name__ == "__main__":
    run(main)
