"""Each rule's conda env file lists exactly the distributions its program imports.

The rules, their programs and env files come from the parsed workflow; the imports from the
programs' source, followed through the project's package, imports inside functions included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from environment_files import ENV_FILES, parse_conda
from rule_programs import _imported_modules, distribution_of, rule_programs, third_party_imports


@pytest.fixture(scope="module")
def programs():
    found = rule_programs()
    assert len(found) >= 20, found  # every rule that runs something, not a parser that finds nothing
    return found


def environment_problems(programs, env_contents: dict[Path, set[str]]) -> list[str]:
    """One line per rule whose env file lacks a distribution that its program imports."""
    problems = []
    for entry in programs:
        for module in sorted(third_party_imports(entry.program)):
            distribution = distribution_of(module)
            if distribution not in env_contents[entry.env_file]:
                problems.append(
                    f"rule {entry.rule}: {entry.program.name} imports {module} ({distribution}), "
                    f"which envs/{entry.env_file.name} does not list"
                )
    return problems


def listed(path: Path) -> set[str]:
    return set(parse_conda(path))


def test_every_rule_env_has_what_its_program_imports(programs):
    problems = environment_problems(programs, {entry.env_file: listed(entry.env_file) for entry in programs})
    assert not problems, "\n".join(problems)


def test_a_missing_distribution_is_reported_with_rule_module_and_env(programs):
    stage = next(entry.env_file for entry in programs if entry.rule == "upload_plot")
    contents = {entry.env_file: listed(entry.env_file) for entry in programs}
    contents[stage] = contents[stage] - {"s3fs"}
    problems = environment_problems(programs, contents)
    assert "rule upload_plot: upload_plot.py imports s3fs (s3fs), which envs/stage.yaml does not list" in problems


def test_every_env_file_lists_nothing_its_rules_do_not_import(programs):
    imported: dict[Path, set[str]] = {path: set() for path in ENV_FILES}
    for entry in programs:
        imported[entry.env_file] |= {distribution_of(module) for module in third_party_imports(entry.program)}
    extra = {path.name: sorted(listed(path) - imported[path] - {"python"}) for path in ENV_FILES}
    assert not any(extra.values()), f"env files list what no rule of theirs imports: {extra}"


def test_every_env_file_serves_a_rule(programs):
    assert {entry.env_file for entry in programs} == set(ENV_FILES)


def test_imports_inside_functions_count_and_type_checking_ones_do_not(tmp_path):
    program = tmp_path / "program.py"
    program.write_text(
        "from typing import TYPE_CHECKING\n"
        "import numpy\n"
        "if TYPE_CHECKING:\n"
        "    import astropy\n"
        "def main():\n"
        "    from scipy import sparse\n"
        "    import s3fs.core\n"
    )
    assert _imported_modules(program) == {"typing", "typing.TYPE_CHECKING", "numpy", "scipy", "scipy.sparse", "s3fs.core"}
    assert third_party_imports(program) == {"numpy", "scipy", "s3fs"}

