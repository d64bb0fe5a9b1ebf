"""Every hook a DisComfy plugin may implement: signatures and contracts only.

Verbs state the contract: ``register_*`` hooks return a list (pluggy gathers one list per
plugin), ``prepare_*`` hooks mutate what they are given, ``*_finished`` hooks observe. Hooks
are always called with keyword arguments. pluggy never awaits, so a hook that needs I/O
returns an async callable for the host to await later.

A plugin implements hooks as methods of its cog (the bot's ``add_cog`` registers the cog
instance with pluggy) or as functions of a module named by a ``discomfy.plugins`` entry point.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT_NAME = "discomfy"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def discomfy_register_workflows() -> list[Any]:
    """Return the workflows this plugin contributes.

    Each item is a path to a workflow manifest (``manifest.toml``) or an already loaded
    ``WorkflowSpec``. Workflows sharing a ``command`` become one slash command whose
    ``model`` option picks between them. Two workflows with the same name fail to load,
    naming both owners.
    """


@hookspec
def discomfy_register_strategies() -> list[Any]:
    """Return updater strategies (objects with ``name`` and ``apply(graph, params, context)``)
    that manifests may list under ``strategies``. Names must be unique across plugins."""


@hookspec
def discomfy_register_autocomplete() -> dict[str, Any]:
    """Return ``{parameter_name: async callable}`` offering autocomplete for that parameter in
    every command that has it. The callable is awaited as ``fn(bot, current: str)`` and returns
    a list of ``(label, value)`` pairs; the host trims it to Discord's 25 choices."""


@hookspec
def discomfy_prepare_parameters(workflow: Any, parameters: dict[str, Any], user_id: int,
                                explicit: frozenset[str], sources: dict[str, str]) -> None:
    """Adjust a job's validated parameters in place before the workflow is rendered (e.g.
    expand a preset, apply a user's defaults). Called for every job of every workflow; the
    values are validated again afterwards.

    ``explicit`` names the options the user gave (a value there must win over any default);
    ``parameters`` also holds the schema's defaults for the rest. A hook that supplies a
    value records who did in ``sources`` (``sources["lora"] = "your defaults"``): the result
    and its Info show it. Implementations may accept only the arguments they use.
    """


@hookspec(firstresult=True)
def discomfy_default_model(command: str, user_id: int) -> str | None:
    """The model a user gets for ``command`` when they do not pick one (``None``: no opinion,
    the command's first model). The first plugin to answer decides; a name the command does
    not offer is ignored."""


@hookspec(firstresult=True)
def discomfy_private_results(user_id: int, command: str, guild_id: int | None) -> bool | None:
    """True to show this user's ``/command`` jobs only to them: the progress message and the
    result are ephemeral, and an outcome arriving after Discord's 15-minute interaction window
    comes as a direct message instead of a channel post. ``None``: no opinion (public).
    ``guild_id`` is the server the job is run in (``None`` in direct messages)."""


@hookspec
def discomfy_job_finished(job: Any) -> None:
    """Observe a job that reached a terminal state (delivered, failed or cancelled).
    Must not block: schedule any I/O as a task."""


@hookspec
def discomfy_register_result_actions() -> list[Any]:
    """Return the buttons this plugin puts under results: a list of ``ResultAction``.

    The host lays them out (whole-result buttons first, then one row per per-image action on a
    batch), keeps them working after restarts (the ``custom_id`` carries the job id and image
    number) and awaits the owning action's ``handler(ActionContext)`` on a click. Names are
    unique across plugins. Called each time a result is delivered or a button is clicked.
    """


@hookspec
def discomfy_register_result_forms() -> list[Any]:
    """Return the buttons under results that ask first: a list of ``ResultForm``.

    Laid out, kept alive and named as result actions are (one name space with them). A click
    opens the form ``form(ActionContext)`` returns (a ``discord.ui.Modal``); the host names it
    after the job, loads the job again when it is sent (also after a restart), checks the user
    may use it, and awaits ``on_submit(ActionContext, answers)``, where ``answers`` maps each
    input's ``custom_id`` to what was entered. Errors raised there reach the user plainly.
    """


@hookspec
def discomfy_review_submission(review: Any) -> Any:
    """Decide on a submission before it becomes a job: ``review`` is a ``SubmissionReview``
    (who asks: user, roles, guild, channel and its age-restricted flag, permissions; what: the
    command, its workflow and the validated parameters).

    Allow by doing nothing; refuse with ``review.refuse(message)`` (the user reads it, nothing
    is stored); rewrite a value with ``review.rewrite(name, value, by=...)`` (validated again,
    named under the result). Anything reserved for the job (a quota unit) is given back through
    ``review.on_dropped(callback)`` when the submission is not accepted after all. Runs inside
    Discord's 3-second window: decide from memory. A hook that must do I/O returns an async
    callable ``fn(review)``, awaited in plugin order until one refuses. A hook that raises
    refuses the submission (moderation fails closed) and is logged.
    """


@hookspec
def discomfy_review_result(review: Any) -> Any:
    """Decide on a finished result before it is delivered: ``review`` is a ``ResultReview``
    (the job, its files as ``(filename, bytes)``, whether the channel is age-restricted).

    Deliver by doing nothing; ``review.spoiler(reason)`` delivers behind Discord's spoiler
    blur; ``review.withhold(message, reason)`` never posts it: the job ends *withheld* and its
    owner reads ``message``, exactly once like every other ending. The strictest decision
    wins. Checking files costs CPU: return an async callable ``fn(review)`` and do the work off
    the event loop (``asyncio.to_thread``). A hook that raises withholds the result.
    """


@hookspec
def discomfy_describe_access(requester: Any) -> list[str]:
    """Lines telling a member what this server lets them use, shown by ``/help`` and
    ``/status`` under "On this server" (e.g. "/animate: only in #video", "Quota: 3 of 10 jobs
    left, resets in 5 hours"). ``requester`` is the ``Requester`` of the member asking.
    Answer from memory; return an empty list to say nothing."""
