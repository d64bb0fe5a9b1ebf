"""Buttons under results, contributed by plugins through ``discomfy_register_result_actions``
(and ``discomfy_register_result_forms``, for buttons that ask in a form first).

A ``ResultAction`` says what one button does; the host owns everything else: which results
show it (``applies_to``), where it goes (``order``, per image on a batch), its ``custom_id``
(``discomfy:<name>:<job id>[:<image number or arg>]``, so a click after a restart still names
the job), who may press it (``owner_only``), and routing the click to the owning plugin's
handler with an :class:`~discomfy.bot.action_context.ActionContext`. A ``ResultForm`` is such
a button whose click opens the plugin's form; :mod:`discomfy.bot.result_forms` answers it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

ACTION_NAME = re.compile(r"[a-z][a-z0-9_]*")
ARG = re.compile(r"[A-Za-z0-9_.-]+")
STYLES = ("primary", "secondary", "success", "danger")
#: names the host keeps for the buttons of jobs that have no result (yet)
HOST_BUTTONS = ("cancel", "retry")
#: the ``custom_id`` of a form a ``ResultForm`` opens: its button's, with "modal" after the name
FORM_ID = re.compile(r"discomfy:(?P<name>[a-z][a-z0-9_]*)modal:(?P<job>[A-Za-z0-9_-]+)(?::(?P<arg>[A-Za-z0-9_.-]+))?")


@dataclass(frozen=True)
class ResultAction:
    """One button under results.

    ``name`` is unique across plugins (``[a-z][a-z0-9_]*``). ``per_image`` actions act on one
    image: a single-image result shows ``label``; a batch of up to 4 images gets one button
    per image, labelled ``short_label`` + number ("U1".."U4") — without a ``short_label`` the
    action shows on single-image results only. ``arg`` (an extension for whole-result actions)
    is carried in the ``custom_id`` so one name can offer several targets ("edit" with each
    edit model); ``(name, arg)`` is then what must be unique.
    """

    name: str
    label: str
    handler: Callable[[Any], Awaitable[None]]
    emoji: str | None = None
    per_image: bool = False
    short_label: str | None = None
    style: str = "secondary"
    order: int = 100
    owner_only: bool = False
    applies_to: Callable[[Any, Any], bool] | None = None
    arg: str | None = None

    def __post_init__(self) -> None:
        if not ACTION_NAME.fullmatch(self.name) or self.name in HOST_BUTTONS:
            raise ValueError(f"result action name {self.name!r} must match [a-z][a-z0-9_]* and not be one of "
                             f"{', '.join(HOST_BUTTONS)}")
        if self.style not in STYLES:
            raise ValueError(f"result action {self.name!r}: style {self.style!r} is not one of {', '.join(STYLES)}")
        if self.arg is not None and (self.per_image or not ARG.fullmatch(self.arg)):
            raise ValueError(f"result action {self.name!r}: arg {self.arg!r} must match [A-Za-z0-9_.-]+ "
                             "and only whole-result actions carry one")
        if not self.label:
            raise ValueError(f"result action {self.name!r} needs a label")

    def shows_for(self, job: Any, spec: Any) -> bool:
        if self.applies_to is None:
            return True
        try:
            return bool(self.applies_to(job, spec))
        except Exception:  # one plugin's broken predicate must not take the others' buttons away
            log.exception("result action %s: applies_to failed for job %s", self.name, getattr(job, "id", "?"))
            return False


@dataclass(frozen=True, kw_only=True)
class ResultForm(ResultAction):
    """A button under results that opens a form and runs when the form is sent.

    Laid out, named and checked as a ``ResultAction`` (without a ``handler``): a click awaits
    nothing of the plugin's but ``form(ActionContext)``, which returns the
    ``discord.ui.Modal`` to open; the host gives it a ``custom_id`` naming the job (and the
    image or ``arg``), so the submission finds its job after a restart too. The submission is
    answered by ``on_submit(ActionContext, answers)``, ``answers`` mapping each input's
    ``custom_id`` to its value (text, or a select's list of values), once the host has loaded
    the job and checked the user may use it; an error raised there reaches the user plainly.
    """

    handler: Callable[[Any], Awaitable[None]] = field(init=False, default=None, repr=False, compare=False)  # type: ignore[assignment]
    form: Callable[[Any], Any]
    on_submit: Callable[[Any, dict[str, Any]], Awaitable[None]]

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "handler", self.open)

    def form_id(self, job_id: str, arg: str | None) -> str:
        value = f"discomfy:{self.name}modal:{job_id}" + (f":{arg}" if arg else "")
        if len(value) > 100:
            raise ValueError(f"custom_id too long for Discord: {value!r}")
        return value

    async def open(self, context: Any) -> None:
        """The click: open the plugin's form, keeping nothing in memory (the host answers the
        submission from its ``custom_id``, also after a restart)."""
        modal = self.form(context)
        modal.custom_id = self.form_id(context.job.id, str(context.image_number) if self.per_image else context.arg)
        await context.interaction.response.send_modal(modal)
        modal.stop()


#: hook -> what each item it returns must be
REGISTERING_HOOKS = {"discomfy_register_result_actions": ResultAction, "discomfy_register_result_forms": ResultForm}


class ActionRegistry:
    """Every plugin's result actions, gathered from the hook on each use (plugins come and go
    with hot reload). A duplicate ``(name, arg)`` from another plugin is refused with a log line
    naming both owners; the first one registered keeps the button."""

    def __init__(self, plugin_manager: Any) -> None:
        self.plugin_manager = plugin_manager
        self._reported: set[tuple[str, str, str]] = set()  # clashes already logged (collect runs per click)

    def collect(self) -> list[tuple[str, ResultAction]]:
        """(owning plugin, action) for every action, first owner winning a name."""
        found: list[tuple[str, ResultAction]] = []
        seen: set[tuple[str, str | None]] = set()
        names: dict[str, str] = {}
        registrations = [(hook, kind, impl) for hook, kind in REGISTERING_HOOKS.items()
                         for impl in getattr(self.plugin_manager.hook, hook).get_hookimpls()]
        for hook, kind, impl in registrations:
            owner = (self.plugin_manager.get_name(impl.plugin) or impl.plugin_name).split(":", 1)[0]
            try:
                actions = list(impl.function() or [])
            except Exception:
                log.exception("plugin %s: %s failed; its buttons are left out", owner, hook)
                continue
            for action in actions:
                if not isinstance(action, kind):
                    log.error("plugin %s returned %r from %s, not a %s", owner, action, hook, kind.__name__)
                    continue
                key = (action.name, action.arg)
                holder = names.setdefault(action.name, owner)
                if holder != owner or key in seen:
                    if (action.name, holder, owner) not in self._reported:
                        self._reported.add((action.name, holder, owner))
                        log.error("result action %r is registered by plugin %r and by plugin %r; %r keeps it",
                                  action.name, holder, owner, holder)
                    continue
                seen.add(key)
                found.append((owner, action))
        return found

    def actions(self) -> list[ResultAction]:
        return [action for _, action in self.collect()]

    def find(self, name: str, arg: str | None) -> ResultAction | None:
        """The action a ``custom_id`` names: per-image actions read ``arg`` as the image number."""
        for action in self.actions():
            if action.name != name:
                continue
            if action.per_image or action.arg == arg:
                return action
        return None

    def for_result(self, job: Any, spec: Any) -> list[ResultAction]:
        """The actions that show under ``job``'s result, in ``order``."""
        return sorted((a for a in self.actions() if a.shows_for(job, spec)), key=lambda a: (a.order, a.name, a.arg or ""))


#: output node classes whose files are still images a user can upscale, vary or edit
IMAGE_SAVERS = frozenset({"SaveImage", "PreviewImage", "SaveImageWebsocket"})


def image_result(job: Any, spec: Any) -> bool:
    """An ``applies_to`` for image actions: the job's workflow saves still images only
    (not a video), so its result message holds images."""
    return spec is not None and bool(spec.outputs) and all(spec.class_of(n) in IMAGE_SAVERS for n in spec.outputs)


def image_number(action: ResultAction, arg: str | None) -> int | None:
    """The 1-based image a per-image button acts on (1 when the custom_id names none)."""
    if not action.per_image:
        return None
    if arg is None:
        return 1
    if not arg.isdigit() or int(arg) < 1:
        raise ValueError(f"bad image number {arg!r}")
    return int(arg)
