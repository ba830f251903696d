"""What every program in scripts/ shares: logging to stderr and one clear line on failure."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from dimred_flow.atomic import replaced_atomically
from dimred_flow.errors import UserError


def setup_logging(name: str) -> logging.Logger:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    # botocore logs request details (and at DEBUG, signed headers); keep it quiet.
    for noisy in ("botocore", "aiobotocore", "s3fs", "urllib3", "httpx", "httpcore", "webdav4", "numba", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return logging.getLogger(name)


def run(main) -> None:
    """Run `main()`; a UserError ends the program with its message alone and exit code 1."""
    try:
        main()
    except UserError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(1)


def key_value(key_type: Callable = str, value_type: Callable = str) -> Callable[[str], tuple]:
    """An argparse `type` for KEY=VALUE arguments such as ITERATION=SEED: each becomes
    (key_type(KEY), value_type(VALUE)), and a malformed one a usage error naming it."""

    def parse(text: str) -> tuple:
        key, separator, value = text.partition("=")
        try:
            if not separator:
                raise ValueError
            return key_type(key), value_type(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE with the expected types") from None

    return parse


def write_json(path: str | Path, payload: dict) -> None:
    with replaced_atomically(path) as partial:
        partial.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
