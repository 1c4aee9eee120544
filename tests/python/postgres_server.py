"""A throw-away PostgreSQL server for the tests: Debian's `postgresql` binaries (installed by
`make setup-test`), `initdb` in a temporary folder, one free local port, its own socket
folder, run as a non-root user (PostgreSQL refuses to run as root: `custseg_pg`, created when
missing). Local socket connections are trusted; TCP ones need the superuser's password, so the
tests see the password travel in the URL and check that it is never printed."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: The OS user the server runs as when the tests run as root.
SERVER_USER = "custseg_pg"
#: The superuser's password (a test secret: the tests check it never reaches a message or a file).
PASSWORD = "pg-test-s3cret-7f2a"
INSTALL_HINT = ("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql package "
                "(apt-get install -y postgresql), or run `make setup-test`, which installs it when missing.")


class ServerMissing(RuntimeError):
    """The server binaries are not installed (one line saying what to install)."""


def server_bindir() -> Path:
    """The folder of initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise ServerMissing(INSTALL_HINT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """None when the tests do not run as root (the server then runs as the current user)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
                       check=True, capture_output=True)
    return SERVER_USER


@dataclass
class PostgresServer:
    bindir: Path
    folder: Path
    port: int
    user: str | None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    def url(self, user: str = "postgres", password: str | None = PASSWORD, database: str = "postgres") -> str:
        """A libpq URL over TCP on localhost."""
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    @property
    def socket_url(self) -> str:
        """The superuser over the socket folder (trusted: no password)."""
        return f"postgresql://postgres@/postgres?host={self.socket_dir}&port={self.port}"

    def _run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], user=self.user, check=True,
                              capture_output=True, text=True, cwd=self.folder, **kw)

    def start(self) -> PostgresServer:
        self.data.mkdir()
        self.socket_dir.mkdir()
        pwfile = self.folder / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self.user:
            info = pwd.getpwnam(self.user)
            for path in (self.folder, self.data, self.socket_dir, pwfile):
                os.chown(path, info.pw_uid, info.pw_gid)
        self._run(["initdb", "-D", str(self.data), "-U", "postgres", "--pwfile", str(pwfile), "--auth-local=trust",
                   "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"])
        pwfile.unlink()
        self.restart()
        return self

    def stop(self) -> None:
        try:
            self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop"], timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass

    def crash(self) -> None:
        """Stop at once (open connections are cut), as a server that goes away."""
        self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop"], timeout=60)

    def restart(self) -> None:
        self._run(["pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.folder / "server.log"),
                   "-w", "-t", "60", "start"], timeout=90)

    def _options(self) -> str:
        return (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.socket_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40 "
                "-c shared_buffers=64MB -c timezone=UTC")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return (self.folder / "server.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_server() -> PostgresServer:
    """Start a server in a new temporary folder (stop it with .stop(), then remove the folder)."""
    bindir = server_bindir()
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="custseg-pg-"))
    server = PostgresServer(bindir, folder, _free_port(), user)
    try:
        return server.start()
    except subprocess.CalledProcessError as err:
        detail = (err.stderr or err.stdout or "").strip().splitlines()
        log = server.log_tail(600)
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {' '.join(map(str, err.cmd[:2]))}: "
                           f"{detail[-1] if detail else ''} {log}") from None
