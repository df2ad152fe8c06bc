"""``namecar-viewer pacs ...`` and ``namecar-viewer deid`` against the session's Orthanc."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from orthanc import HTTP_PASSWORD, HTTP_USER, ORTHANC_AET, OUR_AET, OrthancServer, free_port

from namecar_viewer.cli import main


@pytest.fixture
def settings(tmp_path: Path, orthanc: OrthancServer, receiver_port: int) -> Path:
    s = tmp_path / "nodes.json"
    assert (
        main(
            [
                "pacs",
                "nodes",
                "--settings",
                str(s),
                "local",
                "--aet",
                OUR_AET,
                "--receiver-port",
                str(receiver_port),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "pacs",
                "nodes",
                "--settings",
                str(s),
                "add-dimse",
                "orthanc",
                ORTHANC_AET,
                "127.0.0.1",
                str(orthanc.dicom_port),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "pacs",
                "nodes",
                "--settings",
                str(s),
                "add-web",
                "orthanc-web",
                orthanc.dicomweb_url,
                "--user",
                HTTP_USER,
                "--password",
                HTTP_PASSWORD,
            ]
        )
        == 0
    )
    return s


def test_nodes_echo_find_get_move(
    settings: Path, demo_on_server: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = ["--settings", str(settings)]
    capsys.readouterr()
    assert main(["pacs", "nodes", *s, "list"]) == 0
    out = capsys.readouterr().out
    assert "orthanc " in out and "orthanc-web" in out and OUR_AET in out
    assert main(["pacs", "echo", *s, "--node", "orthanc"]) == 0
    assert "C-ECHO" in capsys.readouterr().out
    assert main(["pacs", "echo", *s, "--node", "orthanc-web"]) == 0

    assert main(["pacs", "echo", *s, "--node", "orthanc-web"]) == 0
    capsys.readouterr()
    rc = main(
        [
            "pacs",
            "find",
            *s,
            "--node",
            "orthanc",
            "--modality",
            "PT",
            "--patient-id",
            "NAMECAR-001",
            "--json",
        ]
    )
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    (study,) = json.loads(cap.out)
    assert study["n_instances"] == 56
    uid = study["study_instance_uid"]
    assert main(["pacs", "find", *s, "--node", "orthanc-web", "--study", uid, "--json"]) == 0
    (series,) = json.loads(capsys.readouterr().out)
    assert series["modality"] == "PT"

    for action, node in (("get", "orthanc"), ("move", "orthanc"), ("get", "orthanc-web")):
        out_dir = tmp_path / f"{action}-{node}"
        rc = main(
            ["pacs", action, *s, "--node", node, uid, "--out", str(out_dir), "--no-index", "--json"]
        )
        assert rc == 0
        rep = json.loads(capsys.readouterr().out)
        assert rep["ok"] and rep["series"][0]["received"] == 56
        assert len(list(out_dir.rglob("*.dcm"))) == 56


def test_cli_errors_are_messages(settings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = ["--settings", str(settings)]
    assert main(["pacs", "echo", *s, "--node", "nope"]) == 1
    assert "no node named 'nope'" in capsys.readouterr().err
    port = free_port()
    assert main(["pacs", "echo", "--aet", "X", "--port", str(port)]) == 1
    assert f"nothing listens at 127.0.0.1:{port}" in capsys.readouterr().err


def test_send_deid_and_deid_cli(
    settings: Path,
    small_demo: Path,
    tmp_path: Path,
    orthanc: OrthancServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pet_dir = next(small_demo.glob("PT_*"))
    mapping = tmp_path / "map.sqlite"
    rc = main(
        [
            "pacs",
            "send",
            "--settings",
            str(settings),
            "--node",
            "orthanc",
            str(pet_dir),
            "--deid",
            "--subject-id",
            "NC-CLI-1",
            "--mapping",
            str(mapping),
            "--json",
        ]
    )
    assert rc == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 56 and all(r["ok"] for r in results)
    sent = results[0]["sop_instance_uid"]
    orig = pydicom.dcmread(results[0]["path"], stop_before_pixels=True)
    assert sent != orig.SOPInstanceUID and sent.startswith("2.25.")
    assert len(orthanc.find_instance(sent)) == 1

    out = tmp_path / "deid-out"
    assert main(["deid", str(pet_dir), str(out), "--mapping", str(mapping), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert len(rep["written"]) == 56
    # the same mapping: the patient keeps NC-CLI-1 and the UIDs sent before
    assert {Path(p).stem for p in rep["written"]} >= {sent}
    assert (
        main(["deid", str(pet_dir), str(out), "--mapping", str(mapping), "--subject-id", "OTHER"])
        == 1
    )
    assert "already mapped to trial subject ID 'NC-CLI-1'" in capsys.readouterr().err
