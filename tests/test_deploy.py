"""The workflow deployed the way Snakemake users deploy workflows (README: "Use it in your own
repository"): a clone of the release tag, loaded with Snakemake's `module` directive by a Snakefile
in an otherwise empty directory, written by hand or by snakedeploy, and run to the merged PDF there.

snakedeploy 0.17.1 needs no network for a local source, but it writes a module path relative to the
deployment ("Snakefile", which would be the deployment's own Snakefile) and ignores --tag there; for
a GitHub URL it writes `github(...)`, a remote module, which this workflow refuses (its rules run
programs from a local copy). So the release is cloned at its tag first, and the test points the
written module at that clone, the one line the README tells the user to edit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dimred_flow import __version__
from test_reana import reana_client, workspace  # noqa: F401 (fixtures: REANA's Snakemake 7.32.4)
from test_slurm import ACCOUNT, PARTITION, _require_slurm, _rules_run
from workflow_runner import REPO, SMALL_CONFIG, deep_merge, run_command

pytestmark = pytest.mark.workflow

TAG = f"v{__version__}"
BIN = Path(sys.executable).parent
USER_CONFIG = {"user_folder": "alice", **SMALL_CONFIG}
# What a deployment may hold: the user's files and what the run writes, none of the workflow's own.
RUN_OUTPUTS = {"results", "logs", "storage", ".snakemake", ".cache"}


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """This checkout's files (tracked and new, as they are now) committed and tagged as the release,
    then cloned at the tag, as a user clones the workflow's repository."""
    root = tmp_path_factory.mktemp("release")
    origin = root / "origin"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (origin / name).parent.mkdir(parents=True, exist_ok=True)
            (origin / name).write_bytes((REPO / name).read_bytes())
    _git("init", "-q", cwd=origin)
    _git("add", "-A", cwd=origin)
    _git("commit", "-q", "-m", "release", cwd=origin)
    _git("tag", TAG, cwd=origin)
    clone = root / "dimred-flow"
    _git("clone", "-q", "--branch", TAG, origin.as_uri(), str(clone), cwd=root)
    return clone


def _write_user_config(deployment: Path) -> None:
    """The user's edit of config/config.yaml: their folder and the small test settings."""
    path = deployment / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text()) if path.exists() else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(deep_merge(config or {}, USER_CONFIG), sort_keys=False))


def _module_deployment(deployment: Path, snakefile: str) -> Path:
    """The deployment written by hand: the user's config and a Snakefile loading the module from
    `snakefile` (a Snakemake expression)."""
    _write_user_config(deployment)
    (deployment / "Snakefile").write_text(
        'configfile: "config/config.yaml"\n\n\n'
        f"module dimred_flow:\n    snakefile:\n        {snakefile}\n    config:\n        config\n\n\n"
        "use rule * from dimred_flow as dimred_*\n"
    )
    return deployment


def _snakedeploy(release: Path, deployment: Path) -> Path:
    run = run_command([str(BIN / "snakedeploy"), "deploy-workflow", str(release), str(deployment),
                       "--tag", TAG, "--name", "dimred_flow"], timeout=120).assert_ok()
    snakefile = deployment / "workflow" / "Snakefile"
    text = snakefile.read_text()
    # The one line to edit: snakedeploy names a local source's Snakefile relative to the deployment.
    assert '        "Snakefile"\n' in text, text + run.output
    snakefile.write_text(text.replace('        "Snakefile"\n', f"        {str(release / 'Snakefile')!r}\n"))
    _write_user_config(deployment)
    return deployment


def _snakemake(deployment: Path, *args: str, timeout: float = 900):
    return run_command([sys.executable, "-m", "snakemake", "--cores", "2", "--show-failed-logs", *args],
                       cwd=deployment, timeout=timeout).assert_ok()


def stored_bundle_iterations(folder: Path) -> list[int]:
    """The iterations whose plots a user folder holds (before any run folder exists)."""
    return sorted(json.loads(path.read_text())["iteration"] for path in (folder / "plots").glob("*.json"))


def _assert_run_in(deployment: Path, deployed: set[str], release: Path) -> None:
    assert (deployment / "results" / "merged_plots.pdf").stat().st_size > 0
    assert {path.name for path in deployment.iterdir()} <= deployed | RUN_OUTPUTS
    crate = json.loads((deployment / "results" / "ro-crate-metadata.json").read_text())
    workflow = next(entity for entity in crate["@graph"] if entity["@id"] == "workflow/Snakefile")
    # The module's own Snakefile is copied into the crate, not the deployment's, and no path of the machine.
    copied = deployment / "results" / "workflow" / "Snakefile"
    assert copied.read_bytes() == (release / "Snakefile").read_bytes()
    assert workflow["softwareVersion"] == __version__ and workflow["url"].startswith("https://")
    assert str(release) not in json.dumps(crate) and str(deployment) not in json.dumps(crate)


def test_module_deployment_runs_both_seed_stages_to_the_merged_pdf(release, tmp_path, reference_run):
    deployment = _module_deployment(tmp_path / "analysis", repr(str(release / "Snakefile")))
    # The seed's first stage: compute and upload; nothing merged yet.
    _snakemake(deployment, "dimred_make_projections")
    assert stored_bundle_iterations(deployment / "storage" / "alice") == [1, 2]
    assert not (deployment / "results" / "merged_plots.pdf").exists()
    # The second: merge what storage holds (nothing is computed again).
    run = _snakemake(deployment, "dimred_combine_plots")
    assert "dimred_project_embeddings" not in run.output, run.output[-3000:]
    _assert_run_in(deployment, {"Snakefile", "config"}, release)
    assert {path.name for path in (deployment / "config").iterdir()} == {"config.yaml"}
    reference_run.assert_same_bytes(deployment, "the module deployment")


def test_a_module_read_from_git_stops_with_one_line(release, tmp_path):
    """What a github(...) module (snakedeploy's for a GitHub URL) does, offline: Snakemake reads the
    workflow's files from a git ref, not from disk, so there are no programs to run."""
    deployment = _module_deployment(tmp_path / "analysis", f"gitfile({str(release)!r}, path='Snakefile', tag={TAG!r})")
    run = run_command([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=deployment, timeout=120)
    assert run.returncode != 0, run.output[-3000:]
    assert "dimred-flow runs its programs from a local copy, not from git+file://" in run.output, run.output[-3000:]
    assert "give the module the clone's Snakefile" in run.output


def test_snakedeploy_deployment_runs_to_the_merged_pdf(release, tmp_path):
    deployment = _snakedeploy(release, tmp_path / "analysis")
    assert {path.name for path in (deployment / "workflow").iterdir()} == {"Snakefile"}
    run = _snakemake(deployment)
    assert "rule all:" in run.output or "localrule all:" in run.output, run.output[-3000:]
    # snakedeploy copies the workflow's config/, profiles/ and LICENSE for the user's repository.
    _assert_run_in(deployment, {"workflow", "config", "profiles", "LICENSE"}, release)


def test_snakemake_7_dry_runs_the_deployment(reana_client, release, tmp_path):  # noqa: F811
    """REANA 0.9's Snakemake 7.32.4 parses the deployment and plans the run (REANA uploads the
    deployment and the clone as inputs, README: "Use it in your own repository")."""
    deployment = _snakedeploy(release, tmp_path / "analysis")
    done = subprocess.run([str(reana_client / "bin" / "snakemake"), "-n", "--cores", "1"], cwd=deployment,
                          capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "list_stored_plots" in output and "This was a dry-run" in output, output[-4000:]


def test_slurm_profile_runs_the_deployment(release, tmp_path):
    _require_slurm()
    deployment = _snakedeploy(release, tmp_path / "analysis")
    profile = deployment / "profiles" / "slurm"
    config = yaml.safe_load((profile / "config.yaml").read_text())
    config["default-resources"].update(slurm_partition=PARTITION, slurm_account=ACCOUNT)
    (profile / "config.yaml").write_text(yaml.safe_dump(config))
    for stage in ("make_projections", "combine_plots"):
        run = _snakemake(deployment, "--workflow-profile", "profiles/slurm", stage, timeout=1200)
        remote, local = _rules_run(run.output)
        assert stage in local and stage not in remote, (remote, local)
    assert "merge_pdf" in remote, remote
    # snakedeploy copies the workflow's config/, profiles/ and LICENSE for the user's repository.
    _assert_run_in(deployment, {"workflow", "config", "profiles", "LICENSE"}, release)
