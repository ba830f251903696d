#!/usr/bin/env python3
"""Print every config key with its type, default and meaning, from workflow/schemas/config.schema.yaml.

    python scripts/show_config.py            # every key
    python scripts/show_config.py storage    # the keys under storage (any prefix)

Set a top-level key with `--config key=value`, a nested one with its section as YAML
(`--config 'storage={url: s3://bucket/prefix}'`) or in a file given with `--configfile`.
"""

import argparse
import textwrap

from dimred_flow.cli import run
from dimred_flow.config import describe_keys, load_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefix", nargs="?", default="", help="only the keys starting with this")
    args = parser.parse_args()
    for key, kind, default, meaning in describe_keys(load_schema()):
        if key.startswith(args.prefix):
            print(f"{key}  [{kind}]  default {default}")
            print(textwrap.fill(meaning, width=100, initial_indent="    ", subsequent_indent="    "))


if __name__ == "__main__":
    run(main)
