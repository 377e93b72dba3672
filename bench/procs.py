"""CPU seconds and peak memory of the stack's processes, read from /proc (Linux), grouped by role."""

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
ROLES = ("temporal", "workers", "web", "database")


@dataclass(frozen=True)
class Sample:
    cpu_seconds: float
    peak_rss_bytes: int  # VmHWM: the most the process ever held
    rss_bytes: int


def _read(pid: int, name: str) -> str:
    try:
        return (Path("/proc") / str(pid) / name).read_text()
    except OSError:  # the process has gone
        return ""


def children(pid: int) -> list[int]:
    """Every descendant of pid."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read(int(entry.name), "stat")
            if stat:
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent:
                found.append(child)
                frontier.append(child)
    return found


def role(pid: int) -> str:
    command = _read(pid, "cmdline").replace("\0", " ")
    if "start-dev" in command:
        return "temporal"
    if "run_workers" in command or "bench.skeleton" in command:
        return "workers"
    if "gunicorn" in command:
        return "web"
    return ""


def sample(pid: int) -> Sample:
    stat = _read(pid, "stat")
    status = dict(line.split(":", 1) for line in _read(pid, "status").splitlines() if ":" in line)
    if not stat:
        return Sample(0.0, 0, 0)
    fields = stat.rsplit(")", 1)[1].split()
    kib = lambda key: int(status.get(key, "0 kB").split()[0]) * 1024  # noqa: E731
    return Sample((int(fields[11]) + int(fields[12])) / TICKS, kib("VmHWM"), kib("VmRSS"))


def by_role(root: int, database: str = "") -> dict[str, dict[int, Sample]]:
    """Samples of root's descendants, by role ("temporal", "workers", "web"), and with `database`, PostgreSQL's
    backends serving that database ("database": they are the server's children, not the stack's)."""
    grouped = {name: {} for name in ROLES}
    for pid in children(root):
        name = role(pid)
        if name:
            grouped[name][pid] = sample(pid)
    if database:
        grouped["database"] = {pid: sample(pid) for pid in database_backends(database)}
    return grouped


def database_backends(database: str) -> list[int]:
    """PostgreSQL backends connected to `database`: their title is "postgres: <cluster>: <user> <database> <client> ..."."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            title = _read(int(entry.name), "cmdline").replace("\0", " ")
            if title.startswith("postgres: ") and f" {database} " in title:
                found.append(int(entry.name))
    return found


def usage(before: dict[str, dict[int, Sample]], after: dict[str, dict[int, Sample]]) -> dict[str, dict]:
    """Per role, over the time between two samplings: CPU seconds used, the largest peak RSS of one process and the
    current RSS of all of them, in MiB."""
    report = {}
    for name in ROLES:
        now, then = after.get(name, {}), before.get(name, {})
        cpu = sum(s.cpu_seconds - (then[pid].cpu_seconds if pid in then else 0.0) for pid, s in now.items())
        report[name] = {
            "processes": len(now),
            "cpu_seconds": round(cpu, 2),
            "peak_rss_mib": round(max((s.peak_rss_bytes for s in now.values()), default=0) / 2**20, 1),
            "rss_mib": round(sum(s.rss_bytes for s in now.values()) / 2**20, 1),
        }
    return report
