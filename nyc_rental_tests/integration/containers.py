"""Docker for the container tests: a docker daemon of the test's own, and the base image the platform's image is
built FROM.

This machine has no image registry within reach and no docker daemon running. The test installs Debian's
docker.io, debootstrap and docker-compose when they are missing, starts its own `dockerd` (its own socket,
exec root and pid file in a temporary folder; never the system's socket) with its images under CACHE, which
keeps the base image between runs, and makes that base, `debian:bookworm`, with debootstrap when it is absent.
Containers use the host's network: without iptables dockerd cannot give them a bridge.

Everything the test creates besides the base (containers, images, build cache, volumes, networks) is removed
when the daemon stops, on failure too. One test session at a time uses CACHE (a lock file beside it).

Where docker cannot be installed or started the test skips saying why, except under CI=true, where it fails.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("NYC_RENTAL_DOCKER_CACHE") or "/var/cache/nyc-rental-docker")
BASE_IMAGE = "debian:bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# docker.io's client: BuildKit built in, `--secret` included (the newer client in /usr/local/bin has no buildx).
DOCKER = "/usr/bin/docker"
COMPOSE = "/usr/bin/docker-compose"
PACKAGES = {
    "docker.io": ["/usr/bin/docker", "/usr/sbin/dockerd"],
    "debootstrap": ["/usr/sbin/debootstrap"],
    "docker-compose": [COMPOSE],
}
# overlay2 where the kernel and the file system allow it (layers and containers cost nothing to create), else
# vfs, which copies the whole file system for each of them but runs anywhere. NYC_RENTAL_DOCKER_STORAGE_DRIVER
# picks one.
STORAGE_DRIVERS = ("overlay2", "vfs")
LOCK_WAIT_SECONDS = 1200


def unavailable(reason: str) -> None:
    """Skip (fail under CI=true): docker cannot run here."""
    message = f"docker cannot run the containers here: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def ensure_packages() -> None:
    """Debian's docker.io, debootstrap and docker-compose, installed with apt-get when missing."""
    missing = [name for name, paths in PACKAGES.items() if not all(Path(path).exists() for path in paths)]
    if not missing:
        return
    if os.geteuid() != 0:
        unavailable(f"{', '.join(missing)} missing, and installing them needs root")
    if shutil.which("apt-get") is None:
        unavailable(f"{', '.join(missing)} missing, and there is no apt-get to install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", *missing]
    done = subprocess.run(install, env=env, capture_output=True, text=True)
    if done.returncode != 0:  # package lists missing or stale
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        unavailable(f"apt-get install {' '.join(missing)} failed: {done.stderr.strip()[-500:]}")


def _mounts_under(folder: Path) -> list[str]:
    """Mount points at or below `folder`, deepest first."""
    prefix = str(folder.resolve())
    points = []
    for line in Path("/proc/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def _options(args: list[str]) -> list[str]:
    """A command line's `--name value` options as `--name=value`."""
    joined = []
    for index, arg in enumerate(args):
        if arg.startswith("--") and "=" not in arg and index + 1 < len(args) and not args[index + 1].startswith("-"):
            joined.append(f"{arg}={args[index + 1]}")
        elif arg.startswith("--"):
            joined.append(arg)
    return joined


def _alive(proc: Path) -> bool:
    try:
        return bool((proc / "cmdline").read_bytes())  # empty for a zombie
    except OSError:
        return False


def remove_tree(folder: Path) -> None:
    """Delete `folder`, unmounting first whatever is still mounted below it (a daemon's network namespaces, a
    debootstrap's /proc): never delete through a mount into the host's file systems."""
    for point in _mounts_under(folder):
        subprocess.run(["umount", "-l", point], capture_output=True)
    left = _mounts_under(folder)
    if left:
        raise RuntimeError(f"cannot remove {folder}: still mounted below it: {left}")
    shutil.rmtree(folder, ignore_errors=True)


class DockerDaemon:
    """`dockerd` started by the test: its socket, exec root and pid file in a temporary folder, its images,
    containers and volumes under `data_root` (CACHE: the base image stays there between runs)."""

    def __init__(self, data_root: Path = CACHE):
        self.data_root = data_root
        self.work = Path(tempfile.mkdtemp(prefix="nyc-docker-", dir="/tmp"))  # short: unix socket paths
        self.socket = self.work / "docker.sock"
        self.log = self.work / "dockerd.log"
        self.process: subprocess.Popen | None = None
        self.driver = ""
        self._lock = None

    @property
    def env(self) -> dict:
        """The environment of a docker or docker-compose command aimed at this daemon (and only at it)."""
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(self.work),  # no ~/.docker/config.json of the user's (credential helpers, contexts)
            "LANG": "C.UTF-8",
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_BUILDKIT": "1",
        }

    def docker(self, *args: str, check: bool = True, timeout: float = 300, **options) -> subprocess.CompletedProcess:
        done = subprocess.run([DOCKER, *args], env=self.env, capture_output=True, text=True, timeout=timeout, **options)
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args[:3])} ... failed: {done.stderr.strip()[-2000:]}")
        return done

    def start(self) -> DockerDaemon:
        if os.geteuid() != 0:
            unavailable("dockerd needs root")
        self.data_root.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self._stop_stale_daemons()
        chosen = os.environ.get("NYC_RENTAL_DOCKER_STORAGE_DRIVER")
        problems = []
        for driver in (chosen,) if chosen else STORAGE_DRIVERS:
            problem = self._launch(driver)
            if problem is None:
                self.driver = driver
                self.clean()  # what an earlier run killed mid-way may have left
                return self
            problems.append(f"{driver}: {problem}")
        unavailable("dockerd did not start (" + "; ".join(problems) + ")")
        return self

    def _take_lock(self) -> None:
        self._lock = open(self.data_root.parent / f"{self.data_root.name}.lock", "w")  # noqa: SIM115
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    unavailable(f"another test session has used {self.data_root} for {LOCK_WAIT_SECONDS} s")
                time.sleep(2)

    def _stop_stale_daemons(self) -> None:
        """A dockerd on this data root while this session holds its lock was left by a test session that was
        killed outright (its own session, so it outlived it): stop it and delete its temporary folder."""
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if Path(args[0]).name != "dockerd" or f"--data-root={self.data_root}" not in _options(args):
                continue
            pid = int(proc.name)
            for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 10)):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + grace
                while _alive(proc) and time.monotonic() < deadline:
                    time.sleep(0.5)
            exec_root = next((o.split("=", 1)[1] for o in _options(args) if o.startswith("--exec-root=")), None)
            if exec_root and Path(exec_root).parent.name.startswith("nyc-docker-"):
                remove_tree(Path(exec_root).parent)

    def _launch(self, driver: str) -> str | None:
        """Start dockerd with `driver`; None once it answers, else why not."""
        command = [
            "dockerd",
            "--data-root", str(self.data_root),
            "--exec-root", str(self.work / "exec"),
            "--pidfile", str(self.work / "docker.pid"),
            "--host", f"unix://{self.socket}",
            "--storage-driver", driver,
            "--iptables=false", "--ip6tables=false", "--bridge=none",
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                tail = self.log.read_text(errors="replace").strip().splitlines()[-1:]
                self._stop_process()
                return f"exited {code}: {' | '.join(tail)}"
            if self.socket.exists() and self.docker("version", check=False, timeout=10).returncode == 0:
                return None
            time.sleep(0.5)
        self._stop_process()
        return "no answer within 60 s"

    def leftovers(self) -> list[str]:
        """Whatever this daemon holds beyond the base image: containers, images, volumes, networks, build cache."""
        found = []
        base = self.docker("image", "inspect", "-f", "{{.Id}}", BASE_IMAGE, check=False).stdout.strip()
        for kind, command in {
            "container": ["ps", "-aq"],
            "image": ["images", "-aq", "--no-trunc"],
            "volume": ["volume", "ls", "-q"],
            "network": ["network", "ls", "-q", "--filter", "type=custom"],
        }.items():
            ids = set(self.docker(*command).stdout.split()) - {base}
            found += [f"{kind} {item[:19]}" for item in sorted(ids)]
        for line in self.docker("system", "df", "--format", "{{.Type}}={{.TotalCount}}").stdout.splitlines():
            kind, _, count = line.partition("=")
            if kind == "Build Cache" and count.strip() not in ("", "0"):
                found.append(f"build cache: {count.strip()} record(s)")
        return found

    def clean(self) -> None:
        """Remove everything but the base image."""
        containers = self.docker("ps", "-aq").stdout.split()
        if containers:
            self.docker("rm", "-f", "-v", *containers, check=False, timeout=120)
        volumes = self.docker("volume", "ls", "-q").stdout.split()
        if volumes:
            self.docker("volume", "rm", "-f", *volumes, check=False)
        self.docker("network", "prune", "-f", check=False)
        base = self.docker("image", "inspect", "-f", "{{.Id}}", BASE_IMAGE, check=False).stdout.strip()
        images = set(self.docker("images", "-aq", "--no-trunc").stdout.split()) - {base}
        if images:
            self.docker("rmi", "-f", *sorted(images), check=False, timeout=120)
        self.docker("builder", "prune", "-af", check=False, timeout=300)

    def _stop_process(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # dockerd stops its containerd and what runs in it
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # anything of its session still there
        except ProcessLookupError:
            pass
        process.wait()

    def stop(self) -> None:
        """Remove everything but the base, stop dockerd, delete its temporary folder, release the cache."""
        try:
            if self.process is not None and self.process.poll() is None:
                self.clean()
        finally:
            self._stop_process()
            remove_tree(self.work)
            if self._lock is not None:
                self._lock.close()
                self._lock = None


@contextmanager
def docker_daemon() -> Iterator[DockerDaemon]:
    """A running daemon of the test's own (packages installed first when missing); stopped afterwards."""
    ensure_packages()
    daemon = DockerDaemon()
    try:
        yield daemon.start()
    finally:
        daemon.stop()


def ensure_base_image(daemon: DockerDaemon) -> bool:
    """`debian:bookworm` in the daemon's cache, made with debootstrap (minbase: what Debian's official image
    holds) when absent, with the same apt sources. True when it had to be made."""
    if daemon.docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0:
        return False
    work = Path(tempfile.mkdtemp(prefix="nyc-debootstrap-", dir="/var/tmp"))
    root = work / "rootfs"
    try:
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(root), DEBIAN_MIRROR],
            capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        if done.returncode != 0:
            unavailable(f"debootstrap failed: {(done.stdout + done.stderr).strip()[-500:]}")
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        for path in (root / "var/cache/apt").glob("*.bin"):
            path.unlink()
        (root / "etc/apt/sources.list").write_text(
            f"deb {DEBIAN_MIRROR} bookworm main\n"
            f"deb {DEBIAN_MIRROR} bookworm-updates main\n"
            "deb http://deb.debian.org/debian-security bookworm-security main\n"
        )
        tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        imported = daemon.docker("import", "-c", 'CMD ["bash"]', "-", BASE_IMAGE, stdin=tar.stdout, check=False)
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise AssertionError(f"importing the base image failed: {imported.stderr.strip()[-1000:]}")
    finally:
        remove_tree(work)
    return True
