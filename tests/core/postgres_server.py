"""A throwaway PostgreSQL server for the tests (and bench/store_roundtrip.py): a real one, never a mock.

``initdb`` makes a cluster in a temporary folder, ``pg_ctl`` starts it on a free port of
127.0.0.1 with its socket in that folder, and ``stop()`` kills it and removes the folder. The
binaries are PostgreSQL's own: on ``PATH``, else the newest ``/usr/lib/postgresql/*/bin``
(Debian's ``postgresql`` package; scripts/test.sh installs it where it is missing). PostgreSQL
refuses to run as root, so under root the server runs as the ``postgres`` account (or ``nobody``).
Durability is switched off (``fsync``, ``full_page_writes``): a crash of the test machine
loses a cluster that is thrown away anyway, and every test database is made in milliseconds.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "discomfy"  # the cluster's superuser; trust authentication, on 127.0.0.1 only


def binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One running cluster; ``url(database)`` to connect, ``create_database()`` for a fresh store."""

    _names = itertools.count(1)

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
                               "apt-get install postgresql (scripts/test.sh does it)")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="discomfy-pg-"))
        self.run_as: tuple[int, int] | None = None
        if os.geteuid() == 0:
            account = next((a for a in ("postgres", "nobody") if _exists(a)), None)
            if account is None:
                raise RuntimeError("running as root and there is no postgres or nobody account to run PostgreSQL as")
            entry = pwd.getpwnam(account)
            self.run_as = (entry.pw_uid, entry.pw_gid)
            os.chown(self.root, *self.run_as)
        self.port = 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        extra = {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []} if self.run_as else {}
        return subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True,
                              cwd=self.root, check=False, **extra)

    def start(self) -> PostgresServer:
        data = self.root / "data"
        made = self._run("initdb", "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C",
                         "--no-sync")
        if made.returncode:
            raise RuntimeError(f"initdb failed: {made.stderr or made.stdout}")
        for _ in range(5):  # another process may take the free port first
            self.port = _free_port()
            options = (f"-p {self.port} -h 127.0.0.1 -k {self.root} -F -c full_page_writes=off "
                       "-c synchronous_commit=off -c max_connections=100 -c shared_buffers=16MB")
            started = self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-w", "-t", "30",
                                "-o", options, "start")
            if started.returncode == 0:
                return self
        log = (self.root / "server.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"pg_ctl could not start PostgreSQL: {started.stderr}\n{log}")

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        """A URL to a new, empty place for a store: a schema of its own in the one database,
        which the URL's ``search_path`` points at (a schema takes milliseconds, a database
        most of a second); every statement of the store names tables unqualified."""
        import asyncpg

        name = f"t{os.getpid()}_{next(self._names)}"
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'CREATE SCHEMA "{name}"')
        finally:
            await conn.close()
        return f"{self.url()}?search_path={name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server per test process (each pytest-xdist worker), started when a test first needs
    it and stopped at the end of the session; import this fixture where it is used."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def _exists(account: str) -> bool:
    try:
        pwd.getpwnam(account)
    except KeyError:
        return False
    return True
