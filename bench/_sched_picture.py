"""The one picture of ``bench/scheduling.py``: wait distributions per job kind and policy,
across the offered loads, one row per mix (all the seeds run, pooled). People would rather
look than read twelve tables; the picture shows where each policy makes whom wait."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from _sched_figures import KINDS, MIXES

COLOURS = {"least_busy": "#9e9e9e", "model_affinity": "#1f77b4"}


def draw(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mixes = [m for m in MIXES if any(k[0] == m for k in results)]
    loads = sorted({k[1] for k in results})
    fig, axes = plt.subplots(len(mixes), len(loads), figsize=(4.2 * len(loads), 3.6 * len(mixes)),
                             squeeze=False, sharey="row")
    for row, mix in enumerate(mixes):
        kinds = [k for k in KINDS if k in MIXES[mix]]
        for col, load in enumerate(loads):
            ax = axes[row][col]
            pooled: dict[tuple[str, str], list[float]] = defaultdict(list)
            for (m, ld, _seed), runs in results.items():
                if m == mix and ld == load:
                    for policy, run in runs.items():
                        for o in run.outcomes.values():
                            pooled[(policy, o.kind)].append(max(o.wait, 0.5))
            for offset, policy in ((-0.18, "least_busy"), (0.18, "model_affinity")):
                data = [pooled[(policy, k)] or [0.5] for k in kinds]
                box = ax.boxplot(data, positions=[i + offset for i in range(len(kinds))], widths=0.32,
                                 whis=(5, 95), showfliers=False, patch_artist=True)
                for patch in box["boxes"]:
                    patch.set_facecolor(COLOURS[policy])
                for median in box["medians"]:
                    median.set_color("black")
            ax.set_yscale("log")
            ax.set_xticks(range(len(kinds)))
            ax.set_xticklabels(kinds, rotation=45, ha="right", fontsize=8)
            ax.set_title(f"{mix} models, offered load {load:.0%}", fontsize=10)
            if col == 0:
                ax.set_ylabel("wait, arrival to start (s, log)")
            ax.grid(axis="y", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    fig.suptitle("Wait per job kind (box: p25-p75, whiskers: p5-p95), the seeds run pooled", y=0.99, fontsize=11)
    fig.legend(handles, list(COLOURS), loc="upper center", bbox_to_anchor=(0.5, 0.955), ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["draw"]
