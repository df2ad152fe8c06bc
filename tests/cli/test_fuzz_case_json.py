"""Seeded fuzzing of ``namecar-viewer recist``: 360 mutants of the valid case files.

Every mutant ends with exit status 0 or 2 (the documented ones), a message and no traceback,
within a time limit, and without allocating more than a bounded amount of memory.  A failure
prints the seed and the mutation class, so ``mutant(seed)`` reproduces it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from cli_hostile import mutate_json, run_cli

DATA = Path(__file__).resolve().parents[1] / "data" / "recist_cases"
VALID = sorted(p for p in DATA.glob("*.json"))
N_MUTANTS = 360
SECONDS_PER_RUN = 5.0
MAX_PEAK_BYTES = 200 * 1024 * 1024


def mutant(seed: int) -> tuple[str, bytes]:
    rng = random.Random(seed)
    source = VALID[seed % len(VALID)]
    kind, data = mutate_json(source.read_bytes(), rng)
    return f"seed {seed} ({source.name}, {kind})", data


def test_mutated_case_files_end_with_a_message(tmp_path: Path) -> None:
    assert len(VALID) >= 5
    path = tmp_path / "case.json"
    kinds: dict[str, int] = {}
    slowest = 0.0
    for seed in range(N_MUTANTS):
        what, data = mutant(seed)
        kinds[what.split(", ")[1].split(":")[0].rstrip(")")] = kinds.get(what, 0) + 1
        path.write_bytes(data)
        r = run_cli(["recist", str(path)], seconds=SECONDS_PER_RUN, trace_memory=seed % 10 == 0)
        assert r.code in (0, 2), f"{what}: exit {r.code}\n{r.err}"
        assert "Traceback" not in r.err, f"{what}:\n{r.err}"
        if r.code == 2:
            assert r.out == "", what
            lines = r.err.splitlines()
            assert lines and all(f"recist: {path}: " in line for line in lines), f"{what}: {r.err}"
        assert r.peak_bytes < MAX_PEAK_BYTES, f"{what}: {r.peak_bytes} bytes"
        slowest = max(slowest, r.seconds)
    assert set(kinds) >= {"truncate", "flip", "numbers", "nesting", "types", "encoding"}
    assert slowest < SECONDS_PER_RUN


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mutants_reproduce_from_their_seed(seed: int) -> None:
    assert mutant(seed) == mutant(seed)
