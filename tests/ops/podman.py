"""Podman as these test machines run it: no Docker engine, no image registry, root, runc.

* The default runtime (crun) fails on the machines' hybrid cgroups and podman's default ulimits
  cannot be applied, so every call goes through ``--runtime runc`` with a containers.conf that
  clears the default ulimits.
* The Containerfile starts ``FROM python:3.11-slim``. Where no registry answers, that name is
  given to an image made from Debian's own packages (debootstrap), so the very Containerfile
  users build against the real registry builds here too. It stays in podman's storage, so only
  the first run on a machine pays for it.
* Package downloads inside a build go through the machine's certificate authority: its bundle is
  mounted into the build, with the host's network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

BASE_IMAGE = "docker.io/library/python:3.11-slim"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


class Podman:
    def __init__(self, folder: Path) -> None:
        missing = [tool for tool in ("podman", "runc") if shutil.which(tool) is None]
        assert not missing, f"{' and '.join(missing)} missing: scripts/test.sh installs them (apt-get install podman runc)"
        self.folder = folder
        conf = folder / "containers.conf"
        conf.write_text("[containers]\ndefault_ulimits = []\n")
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["podman", "--runtime", "runc", *args], env=self.env, capture_output=True,
                                timeout=timeout, text=True)
        assert not check or result.returncode == 0, \
            f"podman {' '.join(args)}: exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        return result

    def has_image(self, name: str) -> bool:
        return self("image", "exists", name, check=False).returncode == 0

    def ensure_base_image(self) -> None:
        """``python:3.11-slim`` from the registry, or else made from Debian's packages."""
        if self.has_image(BASE_IMAGE) or self("pull", "-q", BASE_IMAGE, timeout=300, check=False).returncode == 0:
            return
        assert shutil.which("debootstrap"), "debootstrap missing: scripts/test.sh installs it (apt-get install debootstrap)"
        rootfs = self.folder / "rootfs"
        made = subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                               "bookworm", str(rootfs), debian_mirror()], capture_output=True, text=True, timeout=900)
        assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["podman", "--runtime", "runc", "import", "-", BASE_IMAGE], stdin=tar.stdout,
                                  env=self.env, capture_output=True, text=True, timeout=300)
        tar.wait()
        assert imported.returncode == 0, imported.stderr
        shutil.rmtree(rootfs, ignore_errors=True)

    def build(self, context: Path, tag: str) -> None:
        self.ensure_base_image()
        # docker format: OCI images have no HEALTHCHECK. No layer cache: each build would leave
        # a build-stage image of about 460 MB behind.
        self("build", "--format", "docker", "--layers=false", "--network=host", "-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro",
             "-t", tag, "-f", str(context / "Containerfile"), str(context), timeout=1200)

    def image_size(self, tag: str) -> int:
        return int(self("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


def debian_mirror() -> str:
    """The Debian mirror apt already uses on this machine (deb822 or one-line sources)."""
    for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")) + [Path("/etc/apt/sources.list")]:
        text = path.read_text() if path.is_file() else ""
        found = re.search(r"^URIs:\s*(\S+/debian)/?\s*$", text, re.M) or re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", text, re.M)
        if found:
            return found.group(1)
    return DEFAULT_MIRROR
