"""What SLURM says of a graph's submitted jobs: `squeue` for the jobs still queued, `sacct` for the others."""

import re
import shutil
import subprocess
from typing import Callable

SUBMITTED = re.compile(r"submitted \(job (\S+)\)")
NO_SQUEUE = "squeue is not on this machine's PATH: the states are those recorded when the jobs were submitted"


def _listed_states(command: list[str], separator: str | None) -> dict[str, str]:
    """{job id: state} from the lines of `command` ("ID STATE ..."); nothing when it fails or is missing."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    states = {}
    for line in result.stdout.splitlines():
        fields = line.strip().split(separator)
        if len(fields) >= 2 and fields[0].strip() and fields[1].strip():
            states[fields[0].strip()] = fields[1].split()[0]  # "CANCELLED by 1000" -> CANCELLED
    return states


def job_states(job_ids: list[str]) -> dict[str, str] | None:
    """SLURM's state of each job (PENDING, RUNNING, COMPLETED, FAILED, ...): one `squeue` call, then one `sacct`
    call (where it exists) for the jobs no longer queued. None when `squeue` is not on this machine."""
    if shutil.which("squeue") is None:
        return None
    ids = ",".join(job_ids)
    states = _listed_states(["squeue", "-h", "-r", "-j", ids, "-o", "%i %T"], None)
    gone = [job for job in job_ids if job not in states]
    if gone and shutil.which("sacct") is not None:
        accounted = _listed_states(["sacct", "-n", "-X", "-P", "-j", ",".join(gone), "-o", "JobID,State"], "|")
        states.update({job: state for job, state in accounted.items() if job in gone})
    return states


def with_slurm_states(states: dict[str, str], say: Callable[[str], None] = print) -> dict[str, str]:
    """The node states with each "submitted (job ID)" replaced by SLURM's "STATE (job ID)" ("submitted (job ID,
    unknown to SLURM)" when neither squeue nor sacct knows it); `say` gets one line when squeue is missing."""
    submitted = {node: match.group(1) for node, state in states.items() if (match := SUBMITTED.fullmatch(state))}
    if not submitted:
        return states
    queried = job_states(sorted(set(submitted.values())))
    if queried is None:
        say(NO_SQUEUE)
        return states
    updated = dict(states)
    for node, job in submitted.items():
        updated[node] = f"{queried[job]} (job {job})" if job in queried else f"submitted (job {job}, unknown to SLURM)"
    return updated
