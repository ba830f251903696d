"""A crate and the files it describes as one zip (RO-Crate's "zip" packaging, which WorkflowHub and
Zenodo take as uploaded)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from dimred_flow.atomic import replaced_atomically
from dimred_flow.errors import UserError

METADATA = "ro-crate-metadata.json"


def described_files(crate: dict) -> list[str]:
    """The crate-relative paths of its data entities (absolute URLs and '#' entities are not files)."""
    return sorted(
        {
            entity["@id"]
            for entity in crate["@graph"]
            if "File" in (entity["@type"] if isinstance(entity["@type"], list) else [entity["@type"]])
            and not entity["@id"].startswith(("#", "http://", "https://"))
        }
    )


def pack_crate(crate: dict, crate_root: Path, out: Path) -> list[str]:
    """Zip `crate_root`'s metadata and every file the crate describes; refuse if one is missing."""
    files = described_files(crate)
    missing = [name for name in files if not (Path(crate_root) / name).is_file()]
    if missing:
        raise UserError(
            f"The crate describes {len(missing)} file(s) not in {crate_root} (first: {missing[0]}): pack it where "
            "the run left its results (a combine_plots run holds only what it staged)."
        )
    with replaced_atomically(out) as partial, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(Path(crate_root) / METADATA, METADATA)
        for name in files:
            archive.write(Path(crate_root) / name, name)
    return [METADATA, *files]
