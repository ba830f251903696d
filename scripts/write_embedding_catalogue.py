#!/usr/bin/env python3
"""Write the run's embedding catalogue, one row per projected star, as FITS and VOTable."""

import argparse
import json
from pathlib import Path

from dimred_flow import __version__
from dimred_flow.catalogue import (
    POSITION_COLUMNS,
    ProjectedMethod,
    RunDescription,
    Selection,
    catalogue_table,
    write_fits,
    write_votable,
)
from dimred_flow.cli import key_value, run, setup_logging
from dimred_flow.embeddings import find_batch, load_embedding
from dimred_flow.features import columns_read, load_features
from dimred_flow.tables import read_parquet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", required=True, type=Path, help="the source table prepare_features read")
    parser.add_argument("--features", required=True, type=Path)
    parser.add_argument(
        "--embeddings", required=True, nargs="+", type=key_value(str, Path), metavar="METHOD=DIRECTORY",
        help="every batch directory of every method",
    )
    parser.add_argument("--settings", required=True, type=json.loads, help="JSON: plan.catalogue_settings")
    parser.add_argument("--fingerprint", required=True, help="the catalogue's, derived from its settings and inputs")
    parser.add_argument("--fits", required=True, type=Path)
    parser.add_argument("--votable", required=True, type=Path)
    args = parser.parse_args()
    log = setup_logging("write_embedding_catalogue")
    settings = args.settings
    description = RunDescription(
        fingerprint=args.fingerprint,
        seeds={int(i): seed for i, seed in settings["seeds"].items()},
        methods=[ProjectedMethod(name, label, method_settings) for name, label, method_settings in settings["methods"]],
        version=__version__,
    )
    embeddings = {}
    for projected in description.methods:
        directories = [directory for name, directory in args.embeddings if name == projected.name]
        embeddings[projected.name] = {i: load_embedding(find_batch(directories, i), i) for i in description.seeds}
    features = load_features(args.features)
    selection = Selection(settings["derive"], settings["max_rows"])
    columns = columns_read(features.feature_names, selection.derive, features.colour_name, *POSITION_COLUMNS)
    catalogue = catalogue_table(read_parquet(args.table, columns), features, selection, embeddings, description)
    write_fits(catalogue, args.fits)
    write_votable(catalogue, args.votable)
    log.info("%d rows, %d columns: %s, %s", len(catalogue), len(catalogue.columns), args.fits, args.votable)


if __name__ == "__main__":
    run(main)
