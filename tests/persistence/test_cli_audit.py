"""``namecar-viewer audit verify`` on an intact, an edited and a truncated trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from namecar_viewer.cli import main
from namecar_viewer.persistence.audit import AuditAction, AuditLog, NewEntry
from namecar_viewer.persistence.reads_db import ReadsDatabase


def test_audit_verify_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "reads.sqlite"
    db = ReadsDatabase(path)
    log = AuditLog(db.engine)
    for n in range(3):
        log.record(NewEntry("dr-a", AuditAction.LOGIN, "user", "dr-a", detail=f"#{n}"))
    assert main(["audit", "verify", "--db", str(path)]) == 0
    assert "3 entries, hash chain intact" in capsys.readouterr().out
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET username = 'mallory' WHERE seq = 1"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    db.close()
    assert main(["audit", "verify", "--db", f"sqlite:///{path}"]) == 1
    out = capsys.readouterr().out
    assert "Audit entry 1 (" in out and "was edited" in out
    assert "Audit entry 2 deleted" in out
    assert main(["audit", "list", "--db", str(path), "--user", "mallory"]) == 0
    assert "mallory" in capsys.readouterr().out
    assert main(["audit", "verify", "--db", str(tmp_path / "none.sqlite")]) == 2
