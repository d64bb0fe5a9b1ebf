"""Which waiting job a free ComfyUI server runs next (``comfyui.scheduling``).

``least_busy`` is the fair queue's strict round-robin: the next user's job goes to whichever
server frees first. ``model_affinity`` knows which models each server probably holds and
starts, on a free server, a job whose models are already loaded, within an aging bound that
keeps round-robin's fairness. See :mod:`.policy` and :mod:`.affinity`, and the README's "Scheduling across servers".
"""

from discomfy.core.scheduling.affinity import ModelAffinity
from discomfy.core.scheduling.choose import policy_from_config
from discomfy.core.scheduling.holdings import ModelHoldings
from discomfy.core.scheduling.job_models import models_of
from discomfy.core.scheduling.policy import LeastBusy, SchedulingPolicy

__all__ = ["LeastBusy", "ModelAffinity", "ModelHoldings", "SchedulingPolicy", "models_of", "policy_from_config"]
