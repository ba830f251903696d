"""The pure parts of benchmarks/run_benchmark.py: the resampler, the breakdowns and the report. No timing."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import MaskedColumn, Table

from benchmark_module import benchmark_module


@pytest.fixture(scope="module")
def rb():
    return benchmark_module()


@pytest.fixture(scope="module")
def source():
    rng = np.random.default_rng(0)
    n = 60
    clusters = np.repeat(["Hyades", "Pleiades", "Praesepe"], n // 3)
    centre = {"Hyades": 20.0, "Pleiades": 7.4, "Praesepe": 5.4}
    parallax = np.array([centre[c] for c in clusters]) + rng.normal(0, 0.2, n)
    table = Table()
    table["source_id"] = np.arange(n, dtype=np.int64) + 1000
    table["Cluster"] = clusters
    table["ra"] = rng.uniform(50, 60, n)
    table["dec"] = rng.uniform(10, 20, n)
    table["parallax"] = MaskedColumn(parallax, mask=np.arange(n) % 17 == 0, unit="mas")
    table["pmra"] = rng.normal(0, 5, n)
    table["pmdec"] = rng.normal(0, 5, n)
    table["phot_g_mean_mag"] = rng.uniform(5, 18, n)
    table["bp_rp"] = rng.uniform(0, 3, n)
    table["Simbad"] = ["Simbad"] * n
    return table


def test_resample_keeps_columns_labels_and_size(rb, source):
    out = rb.resample_table(source, 500, seed=7)
    assert len(out) == 500
    assert out.colnames == source.colnames
    assert out["parallax"].unit == source["parallax"].unit
    # Every row is a real star of the snapshot, with its own label and untouched id.
    label_of = dict(zip(source["source_id"].tolist(), source["Cluster"].tolist()))
    assert all(label_of[i] == c for i, c in zip(out["source_id"].tolist(), out["Cluster"].tolist()))
    assert set(out["Cluster"]) <= set(source["Cluster"])
    assert np.array_equal(out["Simbad"], np.array(["Simbad"] * 500))


def test_resample_is_deterministic(rb, source):
    a = rb.resample_table(source, 300, seed=3)
    b = rb.resample_table(source, 300, seed=3)
    c = rb.resample_table(source, 300, seed=4)
    for name in source.colnames:
        assert np.array_equal(np.ma.getdata(a[name]), np.ma.getdata(b[name]))
        assert np.array_equal(np.ma.getmaskarray(a[name]), np.ma.getmaskarray(b[name]))
    assert not np.array_equal(a["source_id"], c["source_id"])


def test_resampled_duplicates_differ_but_stay_close(rb, source):
    out = rb.resample_table(source, 600, seed=11, jitter=0.05)
    ids = out["source_id"].tolist()
    duplicate = next(i for i in set(ids) if ids.count(i) > 1)
    rows = np.flatnonzero(out["source_id"] == duplicate)
    original = np.flatnonzero(source["source_id"] == duplicate)[0]
    for name in rb.JITTER_COLUMNS:
        values = np.asarray(out[name][rows], dtype=float)
        assert len(set(values.tolist())) == len(rows), name  # not identical copies
        # within a few jitter widths of the real star (5% of the cluster's spread, or of the value itself)
        group = np.asarray(source[name], dtype=float)[source["Cluster"] == source["Cluster"][original]]
        real = float(source[name][original])
        width = 0.05 * (abs(real) if name in rb.RELATIVE_JITTER_COLUMNS else np.nanstd(group))
        assert np.all(np.abs(values - real) < width * 6), name


def test_resample_keeps_nulls_masked(rb, source):
    out = rb.resample_table(source, 400, seed=5)
    source_mask = dict(zip(source["source_id"].tolist(), np.ma.getmaskarray(source["parallax"]).tolist()))
    assert isinstance(out["parallax"], MaskedColumn)
    assert np.ma.getmaskarray(out["parallax"]).tolist() == [source_mask[i] for i in out["source_id"].tolist()]
    assert not isinstance(out["ra"], MaskedColumn)  # an unmasked column stays unmasked


def test_resampled_table_round_trips_through_the_workflow_reader(rb, source, tmp_path):
    from dimred_flow.tables import read_table_file

    out = rb.resample_table(source, 50, seed=1)
    back = read_table_file(rb.write_table(out, tmp_path / "t.parquet"))
    assert back.colnames == out.colnames and len(back) == 50
    assert np.array_equal(np.ma.getmaskarray(back["parallax"]), np.ma.getmaskarray(out["parallax"]))


@pytest.mark.parametrize(
    ("n", "wall_a", "wall_b", "rss_b", "ratio", "verdict"),
    [
        (1000, 100.0, 60.0, 10**9, 0.6, "PASS"),
        (1000, 100.0, 61.0, 10**9, 0.61, "FAIL"),
        (20000, 1000.0, 300.0, 10**9, 0.3, "PASS"),
        (20000, 1000.0, 301.0, 10**9, 0.301, "FAIL"),
        (600, 10.0, 20.0, 10**9, 2.0, "n/a"),
        (100000, 5000.0, 899.0, 3 * 10**9, 0.1798, "PASS"),
        (100000, 5000.0, 901.0, 3 * 10**9, 0.1802, "FAIL"),
        (100000, 5000.0, 800.0, 4 * 10**9, 0.16, "FAIL"),
    ],
)
def test_evaluate_ratio_and_verdict(rb, n, wall_a, wall_b, rss_b, ratio, verdict):
    result = rb.evaluate(n, wall_a, wall_b, rss_b)
    assert result["ratio"] == pytest.approx(ratio, abs=1e-4)
    assert result["verdict"] == verdict


def test_evaluate_without_a_baseline_fails_a_ratio_target(rb):
    result = rb.evaluate(1000, None, 10.0, 10**8)
    assert result["ratio"] is None and result["verdict"] == "FAIL"


def test_format_report_shows_figures_and_estimate(rb):
    rows = []
    for n, wall_a, wall_b, estimated in ((1000, 200.0, 150.0, None), (100000, 9000.0, 700.0, 1)):
        rows.append({"n": n, "wall_a": wall_a, "wall_b": wall_b, "rss_a": 5 * 10**8, "rss_b": 2 * 10**9,
                     "estimated_a": estimated, "evaluation": rb.evaluate(n, wall_a, wall_b, 2 * 10**9)})
    text = rb.format_report(rows)
    lines = text.splitlines()
    assert lines[0].split()[0] == "N" and len(lines) == 4
    assert "1,000" in lines[2] and "0.750" in lines[2] and "FAIL" in lines[2]
    assert "100,000" in lines[3] and "(estimated from 1 iteration)" in lines[3] and "PASS" in lines[3]
    assert "0.078" in lines[3] and "2,000 MB" in lines[3] and "500 MB" in lines[3]


def test_extrapolation_and_jit_estimate(rb):
    timings = {"iterations": [{"umap": 40.0, "total": 100.0}, {"umap": 10.0, "total": 70.0},
                              {"umap": 12.0, "total": 72.0}]}
    assert rb.umap_jit_estimate(timings) == pytest.approx(28.0)
    one = {"iterations": [{"umap": 40.0, "total": 100.0}]}
    assert rb.umap_jit_estimate(one) is None
    est = rb.extrapolate_seed_wall(130.0, one, 5, jit_s=30.0)
    assert est["wall_s"] == pytest.approx(130.0 + 4 * 70.0) and est["iterations_run"] == 1
    assert rb.extrapolate_seed_wall(130.0, one, 5, jit_s=None)["wall_s"] == pytest.approx(130.0 + 4 * 100.0)
    two = {"iterations": [{"total": 100.0}, {"total": 60.0}]}
    assert rb.extrapolate_seed_wall(200.0, two, 5, jit_s=30.0)["wall_s"] == pytest.approx(200.0 + 3 * 60.0)


def test_rule_breakdown_sums_per_family(rb, tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    files = {
        "import_table.tsv": "1.5\t0:00:01\t100.0\t1\t1\t1\t0\t0\t0\t1.2\n",
        "project_embeddings/umap/iterations_1-3_0123.tsv": "30.0\t0:00:30\t400.5\t1\t1\t1\t0\t0\t0\t29.0\n",
        "project_embeddings/umap/iterations_4-5_4567.tsv": "20.0\t0:00:20\t380.0\t1\t1\t1\t0\t0\t0\tNA\n",
        "upload_plot/new_user/iteration_1.tsv": "0.5\t0:00:00\t50\t1\t1\t1\t0\t0\t0\t0.4\n",
    }
    for name, row in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + row)
    rules = rb.rule_breakdown(tmp_path)
    assert list(rules) == ["project_embeddings:umap", "import_table", "upload_plot"]  # largest first
    assert rules["project_embeddings:umap"] == {"jobs": 2, "sum_s": 50.0, "max_s": 30.0, "cpu_s": 29.0,
                                                "max_rss_mb": 400.5}
    assert rules["upload_plot"]["jobs"] == 1
    text = rb.format_breakdown("rules", rules, wall=60.0)
    assert "project_embeddings:umap" in text and "52.0 s  (wall 60.0 s)" in text


def test_median_run_is_the_middle_wall(rb):
    def run(wall):
        return rb.Measurement(wall_s=wall, returncode=0, peak_tree_rss=0, peak_single_rss=0, peak_single_cmd="",
                              rusage_maxrss=0, samples=0)

    runs = [run(23.3), run(19.7), run(22.6)]
    assert rb.median_run(runs) == 2
    assert rb.median_run(runs[:2]) == 1  # the lower middle of an even count
    assert rb.median_run(runs[:1]) == 0


def test_quality_is_the_mean_over_seeds_and_checked_against_a_reference(rb):
    stability = {"methods": {"umap": {"per_iteration": [
        {"trustworthiness": 0.99, "knn_preservation": 0.6}, {"trustworthiness": 0.97, "knn_preservation": 0.5}]}}}
    measured = rb.quality(stability)
    assert measured == {"umap": {"trustworthiness": 0.98, "knn_preservation": 0.55}}
    within = rb.quality_checks(measured, {"umap": {"trustworthiness": 0.985, "knn_preservation": 0.58}})
    assert [c["ok"] for c in within] == [True, False]
    assert within[1]["difference"] == pytest.approx(-0.03)


def test_cluster_model_runs_one_seed_per_job_along_the_longest_chain(rb):
    rules = {name: {"max_s": seconds} for name, seconds in {
        "import_table": 1, "prepare_features": 2, "compute_neighbour_graph": 3, "prepare_method_input:tsne": 4,
        "plot_projections": 5, "compute_stability_metrics": 6, "render_stability_table": 1, "merge_pdf": 1}.items()}
    seeds = {"umap": {"fits": [10, 30], "startup": [2]}, "tsne": {"fits": [20, 25], "startup": [1, 3]}}
    model = rb.cluster_model(rules, seeds)
    # umap: 2 + 30 = 32; t-SNE: affinities 4 + 3 + 25 = 32.
    assert model["chain"]["projections"] == 32
    assert model["wall_s"] == 1 + 2 + 3 + 32 + 5 + 6 + 1 + 1


@pytest.mark.parametrize("n_rows, n_chunks", [(1_000_000, 10), (50_000, 3), (30, 7)])
def test_tap_fetch_benchmark_configs_are_valid_and_cover_every_row(n_rows, n_chunks):
    from dimred_flow.chunks import chunk_conditions
    from dimred_flow.config import validate_config

    tap_bench = benchmark_module("tap_fetch_benchmark")
    whole = validate_config(tap_bench.fetch_config("http://127.0.0.1:8765/tap", n_rows, None))
    chunked = validate_config(tap_bench.fetch_config("http://127.0.0.1:8765/tap", n_rows, n_chunks))
    assert whole["source"]["tap"]["chunks"] is None and whole["source"]["tap"]["maxrec"] > n_rows
    edges = chunked["source"]["tap"]["chunks"]["edges"]
    assert edges[0] == 0 and edges[-1] == n_rows - 1 and len(edges) == n_chunks + 1
    assert len(chunk_conditions("random_index", edges)) == n_chunks


def test_scaling_fit_gives_each_rules_exponent_from_the_measured_runs(tmp_path):
    """A rule whose time is linear in N fits 1, a fixed one 0; runs are taken from every file given."""
    import json

    scaling_fit = benchmark_module("scaling_fit")
    sizes = [1_000_000, 3_000_000, 10_000_000]

    def run(n):
        rules = {"linear": {"sum_s": n / 1e5, "max_rss_mb": n / 1e4}, "fixed": {"sum_s": 60.0, "max_rss_mb": 800.0}}
        return {"n": n, "workflow": {"wall_s": 100 + n / 1e5, "peak_tree_rss": n * 1000, "rules": rules}}

    (tmp_path / "a.json").write_text(json.dumps({"results": [run(n) for n in sizes[:2]]}))
    (tmp_path / "b.json").write_text(json.dumps({"results": [run(sizes[2])]}))
    result = scaling_fit.scaling(scaling_fit.measured_runs([tmp_path / "a.json", tmp_path / "b.json"]))
    assert result["sizes"] == sizes
    assert result["rules"]["linear"]["time_exponent"] == pytest.approx(1.0)
    assert result["rules"]["fixed"]["time_exponent"] == pytest.approx(0.0)
    assert result["rules"]["(workflow wall)"]["memory_exponent"] == pytest.approx(1.0)
    assert "| linear | 10.0 s / 100.0 MB | 30.0 s / 300.0 MB | 100.0 s / 1,000.0 MB | 1.00 | 1.00 |" in scaling_fit.format_table(result)
    assert list(scaling_fit.measured_runs([tmp_path / "a.json", tmp_path / "b.json"], from_rows=2_000_000)) == sizes[1:]
