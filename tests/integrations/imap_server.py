"""A real IMAP server for the EmailTrigger tests: Debian's dovecot, started by the tests with
a configuration in a temporary folder, listening on a free loopback port, as an unprivileged
user (``nobody`` when the tests run as root, else the current user). ``scripts/imap.sh``
installs dovecot when it is missing; without it the tests that need it are skipped."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from tests.conftest import free_port

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
SCRIPT = Path(__file__).resolve().parents[2] / "scripts/imap.sh"


def ensure_dovecot() -> str | None:
    global DOVECOT
    if DOVECOT is None and SCRIPT.exists():
        subprocess.run([str(SCRIPT)], check=False, timeout=600)
        DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    return DOVECOT


class Dovecot:
    def __init__(self, root: Path, users: dict[str, str], tls: dict[str, str] | None = None) -> None:
        self.root = root
        self.users = users
        self.tls = tls
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            self.user, self.group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        else:
            self.user, self.group = pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name

    def _config(self) -> str:
        r = self.root
        uid, gid = pwd.getpwnam(self.user).pw_uid, grp.getgrnam(self.group).gr_gid
        ssl = (f"ssl = yes\nssl_cert = <{self.tls['certfile']}\nssl_key = <{self.tls['keyfile']}\n"
               if self.tls else "ssl = no\n")
        return f"""
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {self.user}
default_internal_group = {self.group}
default_login_user = {self.user}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{r}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={r}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {self.user}
  }}
  unix_listener stats-writer {{
    user = {self.user}
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""

    def start(self) -> None:
        assert DOVECOT is not None
        for d in ("run", "state", "mail", "home"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        (self.root / "users").write_text("".join(f"{u}:{{PLAIN}}{p}::::\n" for u, p in self.users.items()))
        (self.root / "dovecot.conf").write_text(self._config())
        if os.geteuid() == 0:
            uid = pwd.getpwnam(self.user).pw_uid
            gid = grp.getgrnam(self.group).gr_gid
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, uid, gid)
            os.chmod(self.root, 0o755)
            for parent in self.root.parents:  # the unprivileged server must reach its folder
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
            cmd = ["runuser", "-u", self.user, "--", DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")]
        else:
            cmd = [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(self.root / "stderr.log", "ab"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                imaplib.IMAP4("127.0.0.1", self.port, timeout=1).logout()
                return
            except (OSError, imaplib.IMAP4.error):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start: " + self.log())

    def log(self) -> str:
        out = ""
        for name in ("stderr.log", "dovecot.log"):
            f = self.root / name
            if f.exists():
                out += f.read_text()[-3000:]
        return out

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    # -- helpers for tests ----------------------------------------------------------------
    def client(self, user: str) -> imaplib.IMAP4:
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        m.login(user, self.users[user])
        return m

    def deliver(self, user: str, message: bytes, folder: str = "INBOX") -> None:
        m = self.client(user)
        try:
            m.append(folder, "", imaplib.Time2Internaldate(time.time()), message)
        finally:
            m.logout()

    def flags(self, user: str, folder: str = "INBOX") -> list[tuple[int, str]]:
        m = self.client(user)
        try:
            m.select(folder)
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            out = []
            for row in data or []:
                if isinstance(row, bytes) and b"UID" in row:
                    text = row.decode()
                    uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                    out.append((uid, text[text.index("FLAGS (") + 7:text.index(")", text.index("FLAGS ("))]))
            return out
        finally:
            m.logout()

    def count(self, user: str, folder: str = "INBOX") -> int:
        m = self.client(user)
        try:
            typ, data = m.select(folder, readonly=True)
            return int(data[0]) if typ == "OK" else -1
        finally:
            m.logout()
