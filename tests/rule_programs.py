"""What each rule of the workflow runs, read from the workflow itself: its program and its conda env file,
and the third-party distributions that program imports through the project's package.
"""

from __future__ import annotations

import ast
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from environment_files import REPO, canonical

SCRIPTS = REPO / "scripts"
PACKAGE = "dimred_flow"


@dataclass(frozen=True)
class RuleProgram:
    rule: str
    program: Path
    env_file: Path


def parsed_rules(snakefile: Path = REPO / "Snakefile", config: dict | None = None) -> list:
    """The rules of the parsed workflow (what `snakemake --lint` inspects too), default config
    with `config` merged over it as `--config` would."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with tempfile.TemporaryDirectory() as workdir, SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(config=config or {}),
            snakefile=snakefile,
            workdir=Path(workdir),
        )
        # The API has no public list of rules.
        return list(workflow_api._workflow.rules)


def rule_programs(snakefile: Path = REPO / "Snakefile") -> list[RuleProgram]:
    """Every rule that runs a program: the program is its `params.script`, the env its `conda:` file."""
    rules = parsed_rules(snakefile)
    found = []
    for rule in rules:
        if rule.norun:
            continue
        script = dict(rule.params.items()).get("script")
        assert script, f"rule {rule.name} runs a shell command but names no params.script"
        assert rule.conda_env, f"rule {rule.name} names no conda env file"
        found.append(RuleProgram(rule.name, Path(str(script)), Path(str(rule.conda_env))))
    return found


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported_modules(path: Path) -> set[str]:
    """Every module an import statement in `path` names, inside functions too (not under TYPE_CHECKING)."""
    modules: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            # `from dimred_flow import projections` imports a submodule.
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return modules


def _package_file(module: str) -> Path | None:
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        return None
    base = SCRIPTS.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None  # a name imported from a module, not a submodule


@cache
def third_party_imports(program: Path) -> frozenset[str]:
    """Top-level third-party modules that running `program` imports, following the project's package."""
    pending, seen, outside = [program], set(), set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top == PACKAGE:
                own = _package_file(module)
                if own:
                    pending.append(own)
                    if own.name != "__init__.py":
                        pending.append(own.parent / "__init__.py")
                    elif "pkgutil.iter_modules" in own.read_text():
                        # A package that discovers its modules (dimred_flow.methods) imports them all.
                        pending.extend(sorted(own.parent.glob("*.py")))
            elif top not in sys.stdlib_module_names and top != "__future__":
                outside.add(top)
    return frozenset(outside)


@cache
def _distributions_of_modules() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def distribution_of(module: str) -> str:
    """The (canonical) distribution that installs a top-level module, looked up in this interpreter."""
    names = _distributions_of_modules().get(module)
    assert names, f"no installed distribution provides the module '{module}' (pip install -r requirements-dev.txt)"
    return canonical(names[0])
