"""The Discord-free workflow engine: manifests, parameters, strategies, checks.

Public names (the bot, the CLI and plugins import them from here):

- ``load_manifest(path, plugin=, registry=, check=)`` -> ``WorkflowSpec``; ``load_packs(dir)``
  -> ``PackReport(specs, problems)``; ``load_command_manifest`` for workflow-less commands
- ``WorkflowParameters``; ``WorkflowUpdater(registry=, rng=)`` with ``update``, ``render``,
  ``render_graph`` -> ``RenderedWorkflow``; ``fill_images(rendered, {param: uploaded_name})``
- ``builtin_strategies()``, ``default_registry()``, ``StrategyRegistry``, ``RenderContext``
- ``validate_graph(graph, object_info)``, ``contract_check(spec, object_info)``,
  ``server_check(spec, object_info)``, ``check_choices_before_queue(spec, params, object_info)``
- ``group_commands(specs)`` -> ``{command: CommandSpec}``; ``scaffold_pack``; ``render_cli``
"""

from .commands import CommandSpec, OptionSpec, group_commands
from .contract import contract_check
from .format import detect_format
from .loading import load_manifest
from .manifest import CommandManifest, ModelFile, WorkflowSpec, load_command_manifest, read_manifest
from .packs import PackReport, load_packs
from .problems import PackLoadError, Problem
from .rendered import RenderedWorkflow, fill_images
from .schema.parameters import WorkflowParameters
from .server_check import check_choices_before_queue, server_check
from .strategies import RenderContext, Strategy, StrategyRegistry, builtin_strategies, default_registry
from .updater import WorkflowUpdater
from .validate import validate_graph

__all__ = [
    "CommandManifest", "CommandSpec", "ModelFile", "OptionSpec", "PackLoadError", "PackReport",
    "Problem", "RenderContext", "RenderedWorkflow", "Strategy", "StrategyRegistry",
    "WorkflowParameters", "WorkflowSpec", "WorkflowUpdater", "builtin_strategies",
    "check_choices_before_queue", "contract_check", "default_registry", "detect_format",
    "fill_images", "group_commands", "load_command_manifest", "load_manifest", "load_packs", "read_manifest",
    "server_check", "validate_graph",
]
