"""The command-line flags every staging program shares; storage_args() in common.smk fills them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dimred_flow.errors import UserError
from dimred_flow.storage import DEFAULT_TIMEOUT_S, Storage, open_storage


def add_storage_arguments(parser) -> None:
    parser.add_argument("--storage", required=True, help="s3://bucket/prefix, davs://host/path or a local directory")
    parser.add_argument("--endpoint-url", default="", help="S3 endpoint of a non-AWS object store")
    parser.add_argument("--user-folder", required=True)
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds to wait for one answer of the server"
    )


def storage_from_arguments(args) -> Storage:
    return open_storage(args.storage, args.endpoint_url or None, timeout=args.timeout)


@contextmanager
def listing_cleared_on_failure(inventory: Path) -> Iterator[None]:
    """A download that fails removes the cached listing it trusted, so the rerun its message suggests
    lists the storage again instead of asking for a plot that was deleted as the message said."""
    try:
        yield
    except UserError:
        Path(inventory).unlink(missing_ok=True)
        raise
