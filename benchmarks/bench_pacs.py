"""PACS transfers against a real Orthanc on loopback, each compared with a reference tool run
on the same server, the same study and in the same run (issue 17).

A CT study is generated (default 5 series x 400 slices of 512x512 int16 with vendor-like
headers, about 1 GB), then:

- send: dcmtk ``storescu`` (Nagle off) loads it into Orthanc; the study is deleted and
  ``namecar-viewer pacs send`` (C-STORE, several associations) sends it again, in a subprocess
  whose peak resident memory is read at its end; the same for one series, to show that the
  peak does not grow with the study;
- WADO-RS: one ``curl`` of the whole study as a multipart response to a file (the floor)
  against our retrieve of the same study (series in parallel, streamed to files, durable);
- C-GET: dcmtk ``getscu`` (Nagle off, study level) against our C-GET; our C-MOVE too.

Each retrieval is repeated (``--repeat``) alternating ours and the reference; the medians give
the ratios. Goals: WADO-RS <= 2x curl, C-GET <= 1x getscu, C-MOVE <= 1x getscu, send <= 1x
storescu, send's peak memory bounded (the same for one series and for the whole study).

    python benchmarks/bench_pacs.py [--series 5] [--slices 400] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "pacs"))
sys.path.insert(0, str(HERE.parent / "src"))

from orthanc import (  # noqa: E402
    HTTP_PASSWORD,
    HTTP_USER,
    ORTHANC_AET,
    OUR_AET,
    OrthancServer,
    free_port,
    require_orthanc,
)
from synthetic_study import make_study  # noqa: E402

RSS_PROBE = (
    "import resource, sys\n"
    "from namecar_viewer.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({r.returncode}): {r.stderr[-2000:]}")
    return dt, r.stderr


def nodelay_env() -> dict[str, str]:
    return {**os.environ, "TCP_NODELAY": "1"}  # dcmtk: Nagle's algorithm off


def lookup(server: OrthancServer, study_uid: str) -> str | None:
    import requests

    r = requests.post(
        f"{server.base_url}/tools/lookup", data=study_uid, auth=server.auth, timeout=30
    )
    r.raise_for_status()
    for x in r.json():
        if x.get("Type") == "Study":
            return str(x["ID"])
    return None


def instances_on_server(server: OrthancServer, study_uid: str) -> int:
    sid = lookup(server, study_uid)
    if sid is None:
        return 0
    st = server.get_json(f"/studies/{sid}/statistics")
    return int(st["CountInstances"])  # type: ignore[index]


def delete_study(server: OrthancServer, study_uid: str) -> None:
    import requests

    sid = lookup(server, study_uid)
    if sid is not None:
        requests.delete(f"{server.base_url}/studies/{sid}", auth=server.auth, timeout=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=5)
    ap.add_argument("--slices", type=int, default=400)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parallel", type=int, default=3, help="our series / associations at once")
    ap.add_argument("--skip-send", action="store_true")
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    args = ap.parse_args()

    reason = require_orthanc()
    if reason:
        print(f"bench_pacs needs Orthanc: {reason}", file=sys.stderr)
        return 2
    for tool in ("storescu", "getscu", "curl"):
        if shutil.which(tool) is None:
            print(f"bench_pacs needs {tool} (Debian packages dcmtk, curl)", file=sys.stderr)
            return 2

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-pacs-"))
    work.mkdir(parents=True, exist_ok=True)
    receiver_port = free_port()
    server = OrthancServer(work / "orthanc", receiver_port)
    py = sys.executable
    results: dict[str, Any] = {
        "study": {"series": args.series, "slices": args.slices, "size": args.size},
        "cpus": os.cpu_count(),
    }
    try:
        server.start()
        t0 = time.perf_counter()
        study = make_study(
            work / "study", n_series=args.series, n_slices=args.slices, size=args.size
        )
        nbytes = study.nbytes
        n = len(study.files)
        results["study"].update({"instances": n, "bytes": nbytes})
        print(
            f"study: {n} instances, {nbytes / 1e6:.0f} MB, generated in "
            f"{time.perf_counter() - t0:.0f} s; Orthanc {server.base_url}",
            flush=True,
        )
        uid = study.study_instance_uid
        dimse = ["--aet", ORTHANC_AET, "--host", "127.0.0.1", "--port", str(server.dicom_port)]
        dimse += ["--our-aet", OUR_AET, "--receiver-port", str(receiver_port)]
        scu = ["-aet", OUR_AET, "-aec", ORTHANC_AET]

        # -- send: storescu loads the server; then ours (whole study and one series)
        dt, _ = timed(
            [
                "storescu",
                *scu,
                "+sd",
                "+r",
                "127.0.0.1",
                str(server.dicom_port),
                str(study.files[0].parents[1]),
            ],
            nodelay_env(),
        )
        assert instances_on_server(server, uid) == n, "storescu did not store every instance"
        results["storescu_s"] = dt
        print(f"send  storescu            {dt:7.2f} s  {nbytes / dt / 1e6:6.1f} MB/s", flush=True)
        if not args.skip_send:
            delete_study(server, uid)
            assert instances_on_server(server, uid) == 0
            dt, err = timed(
                [
                    py,
                    "-c",
                    RSS_PROBE,
                    "pacs",
                    "send",
                    *dimse,
                    str(study.files[0].parents[1]),
                    "--json",
                    "--streams",
                    str(args.parallel),
                ]
            )
            rss = int(err.rsplit("MAXRSS_KB", 1)[1].split()[0]) * 1024
            assert instances_on_server(server, uid) == n, "our send did not store every instance"
            results.update(
                {"send_s": dt, "send_peak_rss": rss, "send_ratio": dt / results["storescu_s"]}
            )
            print(
                f"send  ours (C-STORE x{args.parallel})    {dt:7.2f} s  "
                f"{nbytes / dt / 1e6:6.1f} MB/s  "
                f"peak RSS {rss / 2**20:.0f} MiB  ratio {dt / results['storescu_s']:.2f}",
                flush=True,
            )
            one = study.files[0].parent  # one series, sent again (already stored: same work)
            _dt1, err = timed([py, "-c", RSS_PROBE, "pacs", "send", *dimse, str(one), "--json"])
            rss1 = int(err.rsplit("MAXRSS_KB", 1)[1].split()[0]) * 1024
            results["send_one_series_peak_rss"] = rss1
            print(
                f"send  peak RSS: one series {rss1 / 2**20:.0f} MiB, whole study "
                f"{rss / 2**20:.0f} MiB (study {nbytes / 2**20:.0f} MiB)",
                flush=True,
            )

        # -- retrieval: alternate ours and the reference
        from namecar_viewer.pacs import (
            DicomWebNode,
            DimseNode,
            LocalAe,
            LocalStore,
            Method,
            Retriever,
            WebAuth,
        )

        local = LocalAe(OUR_AET, receiver_port)
        wnode = DicomWebNode("bench", server.dicomweb_url, WebAuth.BASIC, HTTP_USER, HTTP_PASSWORD)
        dnode = DimseNode("bench", ORTHANC_AET, "127.0.0.1", server.dicom_port)
        times: dict[str, list[float]] = {k: [] for k in ("curl", "wado", "getscu", "cget", "cmove")}
        accept = 'Accept: multipart/related; type="application/dicom"'
        curl_out = work / "curl.multipart"

        def ours(method: Method, node: Any) -> float:
            out = work / f"ours-{method.value}"
            shutil.rmtree(out, ignore_errors=True)
            r = Retriever(local, LocalStore(out))
            t = time.perf_counter()
            rep = r.retrieve(method, node, uid, parallel=args.parallel)
            dt = time.perf_counter() - t
            r.shutdown()
            assert rep.ok and rep.received == n, (rep.error, rep.received)
            assert len(list(out.rglob("*.dcm"))) == n
            shutil.rmtree(out, ignore_errors=True)
            return dt

        # one untimed round first: Orthanc's cache and our lazy imports warm, as for curl
        for i in range(-1, args.repeat):
            curl_out.unlink(missing_ok=True)
            dt, _ = timed(
                [
                    "curl",
                    "-sf",
                    "-u",
                    f"{HTTP_USER}:{HTTP_PASSWORD}",
                    "-H",
                    accept,
                    "-o",
                    str(curl_out),
                    f"{server.dicomweb_url}/studies/{uid}",
                ]
            )
            size = curl_out.stat().st_size
            assert size > nbytes, "curl's multipart answer is smaller than the study"
            curl_out.unlink()
            times["curl"].append(dt)
            times["wado"].append(ours(Method.WADO_RS, wnode))
            gdir = work / "getscu"
            shutil.rmtree(gdir, ignore_errors=True)
            gdir.mkdir()
            dt, _ = timed(
                [
                    "getscu",
                    *scu,
                    "-S",
                    "-k",
                    "QueryRetrieveLevel=STUDY",
                    "-k",
                    f"StudyInstanceUID={uid}",
                    "-od",
                    str(gdir),
                    "127.0.0.1",
                    str(server.dicom_port),
                ],
                nodelay_env(),
            )
            assert len(list(gdir.iterdir())) == n, "getscu did not receive every instance"
            shutil.rmtree(gdir, ignore_errors=True)
            times["getscu"].append(dt)
            times["cget"].append(ours(Method.C_GET, dnode))
            times["cmove"].append(ours(Method.C_MOVE, dnode))
            if i < 0:
                for v in times.values():
                    v.pop()
                print("warm-up round done", flush=True)
                continue
            print(
                f"round {i + 1}: curl {times['curl'][-1]:.2f} s, "
                f"WADO-RS {times['wado'][-1]:.2f} s, "
                f"getscu {times['getscu'][-1]:.2f} s, C-GET {times['cget'][-1]:.2f} s, "
                f"C-MOVE {times['cmove'][-1]:.2f} s",
                flush=True,
            )
        med = {k: statistics.median(v) for k, v in times.items()}
        results["times_s"] = times
        results["median_s"] = med
        results["wado_vs_curl"] = med["wado"] / med["curl"]
        results["cget_vs_getscu"] = med["cget"] / med["getscu"]
        results["cmove_vs_getscu"] = med["cmove"] / med["getscu"]
        print()
        for k, label in (
            ("curl", "curl (one multipart GET)"),
            ("wado", "ours WADO-RS"),
            ("getscu", "getscu (Nagle off)"),
            ("cget", "ours C-GET"),
            ("cmove", "ours C-MOVE"),
        ):
            print(f"{label:26s} median {med[k]:7.2f} s  {nbytes / med[k] / 1e6:7.1f} MB/s")
        print(
            f"\nratios: WADO-RS/curl {results['wado_vs_curl']:.2f} (goal <= 2), "
            f"C-GET/getscu {results['cget_vs_getscu']:.2f} (goal <= 1), "
            f"C-MOVE/getscu {results['cmove_vs_getscu']:.2f} (goal <= 1)"
            + (
                f", send/storescu {results['send_ratio']:.2f} (goal <= 1), send peak RSS "
                f"{results['send_peak_rss'] / 2**20:.0f} MiB"
                if "send_ratio" in results
                else ""
            )
        )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    finally:
        server.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
