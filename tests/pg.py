"""A throw-away PostgreSQL server for the test run: initdb in a temporary directory, listen on
a Unix socket only, run as the ``postgres`` user when we are root (PostgreSQL refuses root)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def _bindir() -> Path:
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        return Path(explicit)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb) found: install Debian's postgresql package")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempPostgres:
    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # benchmarks want real fsyncs; tests do not need them
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="pgtest-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = (self.root / "server.log")
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{tail}"
            )
        return result

    def start(self) -> str:
        if self.as_postgres:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root but there is no 'postgres' user") from exc
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        self._pg_ctl_start()
        return self.url("postgres")

    def _options(self) -> str:
        options = f"-k {self.root} -p {self.port} -c listen_addresses='' -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return options

    def _pg_ctl_start(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", self._options(), "-l",
                  str(self.root / "server.log"), "-w", "-t", "60", "start")

    def restart(self, down_for: float = 0.0) -> None:
        """``pg_ctl restart`` (fast shutdown: every client is disconnected), same data, socket
        and port. ``down_for`` seconds > 0: stop, stay down that long, then start, so that
        clients can be watched while the database is away."""
        if down_for <= 0:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", self._options(), "-l",
                      str(self.root / "server.log"), "-m", "fast", "-w", "-t", "60", "restart")
            return
        self.halt()
        time.sleep(down_for)
        self.resume()

    def halt(self) -> None:
        """The first half of a restart: ``pg_ctl stop -m fast`` (clients cut off), data kept."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "-t", "60", "stop")

    def resume(self) -> None:
        """The second half: start again on the same data, socket and port."""
        self._pg_ctl_start()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}&port={self.port}"

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        except PostgresUnavailable:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
