"""How every result is named: a fingerprint derived from what the job that made it received.

A job's fingerprint digests its step, the code version, the settings it is given and the
fingerprints its inputs carry. Each compute program takes its settings as one JSON argument (built
by dimred_flow.plan), derives its fingerprint from what it actually received, refuses to run when
that differs from the plan's, and writes it into its output for the next job to check.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dimred_flow import __version__
from dimred_flow.errors import UserError

# The leading characters of a fingerprint used in local paths and storage keys: 64 bits.
SHORT = 16


class DerivationError(UserError, RuntimeError):
    """An input that was made with other settings than the plan says; names it and the fix."""


def digest(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def derive(step: str, settings: dict, inputs: dict) -> str:
    """The fingerprint of what `step` makes from `settings` and inputs carrying these fingerprints."""
    return digest({"step": step, "version": __version__, "settings": settings, "inputs": inputs})


def short(fingerprint: str) -> str:
    return fingerprint[:SHORT]


def check_derivation(step: str, settings: dict, inputs: dict, expected: str, paths) -> str:
    """Derive `step`'s fingerprint from what it received; fail unless it is the one the plan expects."""
    actual = derive(step, settings, inputs)
    if actual != expected:
        raise DerivationError(
            f"{step} was given inputs made with other settings than this run's ({', '.join(map(str, paths))}"
            f" lead to {short(actual)}, the plan expects {short(expected)}): delete them and rerun."
        )
    return actual


def seeded_settings(name: str, settings: dict, seed: int, stochastic: bool) -> dict:
    """One iteration's settings: a seed-invariant method (PCA) gives every iteration the same embedding."""
    return {"method": name, **settings, "seed": seed if stochastic else None}


def embedding_fingerprint(name: str, settings: dict, seed: int, stochastic: bool, inputs: dict) -> str:
    return derive("project_embeddings", seeded_settings(name, settings, seed, stochastic), inputs)


def _unfingerprinted(path, error: Exception) -> DerivationError:
    return DerivationError(
        f"{path} carries no fingerprint ({type(error).__name__}): it was made by an interrupted job or an"
        " older release; delete it and rerun."
    )


def read_carried(path: str | Path) -> str:
    """The fingerprint an .npz result carries in its 'fingerprint' entry."""
    import numpy as np  # here: the Snakefile imports this module and never reads a result

    try:
        with np.load(path, allow_pickle=False) as stored:
            return str(stored["fingerprint"])
    except (OSError, KeyError, ValueError) as error:
        raise _unfingerprinted(path, error) from None


def read_batch_fingerprints(directory: str | Path) -> dict[int, str]:
    """The fingerprint of each iteration's embedding in a batch directory (its batch.json)."""
    try:
        record = json.loads((Path(directory) / "batch.json").read_text())
        return {int(i): fingerprint for i, fingerprint in record["fingerprints"].items()}
    except (OSError, KeyError, ValueError) as error:
        raise _unfingerprinted(directory, error) from None
