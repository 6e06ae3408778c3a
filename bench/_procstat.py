"""Reading ``/proc/PID/stat`` for the benchmark's CPU accounting."""

from __future__ import annotations


def stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` after the command name (``fields[0]`` is the state, ``[1]``
    the parent pid, ``[11:15]`` utime, stime, cutime, cstime in clock ticks); None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return raw[raw.rindex(b")") + 2:].split()  # the name may hold spaces and parentheses
