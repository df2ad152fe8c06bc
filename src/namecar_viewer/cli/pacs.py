"""``namecar-viewer pacs echo|find|get|move|send|nodes``: scripted PACS transfers.

The remote node is a named node from the settings (``--node NAME``, see ``pacs nodes``) or given
inline: ``--aet AET --host HOST --port PORT`` for DIMSE, ``--url URL [--user U --password P |
--token T]`` for DICOMweb. Exit status 0 on success, 1 when something failed, 2 on bad usage,
130 when stopped by Ctrl+C (after the report of what was received or sent).

``get``/``move`` show one progress line for the study (instances done/total, MB/s, time left),
updated in place on a terminal and as plain lines otherwise; a new ``get`` of the same study
fetches only what is missing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("remote node")
    g.add_argument("--settings", type=Path, help="node settings JSON (default: user config dir)")
    g.add_argument("--node", help="a configured node by name")
    g.add_argument("--aet", help="called AE title (DIMSE)")
    g.add_argument("--host", default="127.0.0.1", help="host (DIMSE, default 127.0.0.1)")
    g.add_argument("--port", type=int, help="port (DIMSE)")
    g.add_argument("--tls", action="store_true", help="use TLS for DIMSE")
    g.add_argument("--url", help="DICOMweb base URL (QIDO/WADO/STOW)")
    g.add_argument("--user", default="", help="DICOMweb basic authentication user")
    g.add_argument("--password", default="", help="DICOMweb basic authentication password")
    g.add_argument("--token", default="", help="DICOMweb bearer token")
    g.add_argument("--our-aet", help="our calling AE title (default from the settings)")
    g.add_argument("--receiver-port", type=int, help="our C-STORE receiver port (C-MOVE)")
    g.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = "Query, retrieve and send over DIMSE and DICOMweb."
    sub = parser.add_subparsers(dest="action", required=True)

    p = sub.add_parser("echo", help="C-ECHO or a QIDO-RS probe (test connection)")
    _common(p)

    p = sub.add_parser("find", help="C-FIND / QIDO-RS studies (or the series of a study)")
    _common(p)
    p.add_argument("--patient-id", default="")
    p.add_argument("--patient-name", default="", help="a trailing * is added unless given")
    p.add_argument("--from", dest="date_from", default="", help="study date from (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", default="", help="study date to (YYYY-MM-DD)")
    p.add_argument("--modality", default="")
    p.add_argument("--accession", default="")
    p.add_argument("--subject-id", default="", help="ClinicalTrialSubjectID (0012,0040)")
    p.add_argument("--study", help="list the series of this Study Instance UID instead")
    p.add_argument("--json", action="store_true")

    for name, helptext in (
        ("get", "retrieve a study by C-GET (DIMSE node) or WADO-RS (DICOMweb node)"),
        ("move", "retrieve a study by C-MOVE to our own C-STORE receiver"),
    ):
        p = sub.add_parser(name, help=helptext)
        _common(p)
        p.add_argument("study", help="Study Instance UID")
        p.add_argument("--series", nargs="*", default=None, help="only these Series UIDs")
        p.add_argument("--out", type=Path, help="local folder (default: the managed PACS folder)")
        p.add_argument("--no-index", action="store_true", help="do not add to the study index")
        p.add_argument(
            "--parallel", type=int, default=None, help="series retrieved at once (default 3)"
        )
        p.add_argument(
            "--transfer-syntax",
            help="WADO-RS: ask for this transfer syntax ('*' as stored, jpeg-ls-lossless, "
            "jpeg2000-lossless, htj2k-lossless, or a UID); the stored one when refused",
        )
        p.add_argument("--quiet", action="store_true", help="no progress line")
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("send", help="C-STORE / STOW-RS files or folders (SR, PDF, series)")
    _common(p)
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--deid", action="store_true", help="send a de-identified copy")
    p.add_argument("--subject-id", help="trial subject ID for --deid")
    p.add_argument("--mapping", type=Path, help="de-identification mapping database")
    p.add_argument("--keep-philips-suv", action="store_true", help="keep private group 7053")
    p.add_argument(
        "--streams", type=int, default=None, help="associations / STOW-RS requests at once"
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("nodes", help="list or edit the configured nodes")
    p.add_argument("--settings", type=Path)
    nsub = p.add_subparsers(dest="nodes_action")
    nsub.add_parser("list")
    a = nsub.add_parser("add-dimse")
    a.add_argument("name")
    a.add_argument("aet")
    a.add_argument("host")
    a.add_argument("port", type=int)
    a.add_argument("--tls", action="store_true")
    a = nsub.add_parser("add-web")
    a.add_argument("name")
    a.add_argument("url")
    a.add_argument("--user", default="")
    a.add_argument("--password", default="")
    a.add_argument("--token", default="")
    a = nsub.add_parser("remove")
    a.add_argument("name")
    a = nsub.add_parser("local")
    a.add_argument("--aet")
    a.add_argument("--receiver-port", type=int)


def _node(args: argparse.Namespace, settings: Any) -> Any:
    from namecar_viewer.pacs import DicomWebNode, DimseNode, NodeConfigError, TlsSettings, WebAuth

    if args.node:
        for n in [*settings.dimse, *settings.dicomweb]:
            if n.name == args.node:
                return n
        raise NodeConfigError(f"no node named {args.node!r} in the settings (see 'pacs nodes')")
    if args.url:
        auth = WebAuth.BEARER if args.token else WebAuth.BASIC if args.user else WebAuth.NONE
        return DicomWebNode(
            "command line",
            args.url,
            auth,
            args.user,
            args.password,
            args.token,
            timeout_s=args.timeout,
        ).validate()
    if args.aet and args.port:
        return DimseNode(
            "command line",
            args.aet,
            args.host,
            args.port,
            TlsSettings(enabled=args.tls),
            timeout_s=args.timeout,
        ).validate()
    raise NodeConfigError("give --node NAME, or --aet/--host/--port (DIMSE), or --url (DICOMweb)")


def _local(args: argparse.Namespace, settings: Any) -> Any:
    from dataclasses import replace

    local = settings.local
    if getattr(args, "our_aet", None):
        local = replace(local, ae_title=args.our_aet)
    if getattr(args, "receiver_port", None):
        local = replace(local, receiver_port=args.receiver_port)
    return local.validate()


def _nodes(args: argparse.Namespace, settings: Any) -> int:
    from namecar_viewer.pacs import DicomWebNode, DimseNode, TlsSettings, WebAuth

    action = args.nodes_action or "list"
    if action == "list":
        print(
            f"our AE: {settings.local.ae_title}, "
            f"C-STORE receiver port {settings.local.receiver_port}"
        )
        for n in settings.dimse:
            print(f"DIMSE     {n.name:20s} {n.address}")
        for w in settings.dicomweb:
            print(f"DICOMweb  {w.name:20s} {w.base_url} (auth {w.auth.value})")
        return 0
    if action == "add-dimse":
        settings.dimse = [n for n in settings.dimse if n.name != args.name]
        settings.dimse.append(
            DimseNode(args.name, args.aet, args.host, args.port, TlsSettings(args.tls))
        )
    elif action == "add-web":
        auth = WebAuth.BEARER if args.token else WebAuth.BASIC if args.user else WebAuth.NONE
        settings.dicomweb = [n for n in settings.dicomweb if n.name != args.name]
        settings.dicomweb.append(
            DicomWebNode(args.name, args.url, auth, args.user, args.password, args.token)
        )
    elif action == "remove":
        settings.dimse = [n for n in settings.dimse if n.name != args.name]
        settings.dicomweb = [n for n in settings.dicomweb if n.name != args.name]
    elif action == "local":
        if args.aet:
            settings.local.ae_title = args.aet
        if args.receiver_port:
            settings.local.receiver_port = args.receiver_port
    path = settings.save(args.settings)
    print(f"saved {path}")
    return 0


def _fmt_time(seconds: float) -> str:
    s = max(0, int(seconds + 0.5))
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class StudyProgress:
    """One progress line for a study: instances done/total, MB/s, time left. On a terminal the
    line is rewritten in place (at most 10 times a second); otherwise plain lines, one when a
    series ends and at most one every ``plain_every`` seconds in between."""

    def __init__(
        self, study_uid: str, stream: Any = None, tty: bool | None = None, plain_every: float = 5
    ) -> None:
        self.study_uid = study_uid
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.plain_every = plain_every
        self.series: dict[str, Any] = {}
        self.t0 = time.monotonic()
        self._last = -math.inf  # the first line is written whatever the clock's origin
        self._lock = threading.Lock()
        self._width = 0
        self._ended: set[str] = set()

    def line(self) -> str:
        ss = list(self.series.values())
        done = sum(p.done for p in ss)
        total = sum(p.total or 0 for p in ss)
        received = sum(p.received for p in ss)
        nbytes = sum(p.nbytes for p in ss)
        dt = max(time.monotonic() - self.t0, 1e-6)
        rate = nbytes / dt / 1e6
        left = ""
        if received and total > done:
            per = dt / received
            left = f", {_fmt_time(per * (total - done))} left"
        n_done = sum(p.status.value in ("done", "failed", "cancelled") for p in ss)
        return (
            f"study {self.study_uid[-12:]}: {done}/{total or '?'} instances, "
            f"{n_done}/{len(ss)} series, {rate:.1f} MB/s{left}"
        )

    def __call__(self, p: Any) -> None:
        with self._lock:
            self.series[p.series_instance_uid] = p
            now = time.monotonic()
            ended = p.status.value in ("done", "failed", "cancelled")
            first_end = ended and p.series_instance_uid not in self._ended
            if first_end:
                self._ended.add(p.series_instance_uid)
            if self.tty:
                if now - self._last < 0.1 and not first_end:
                    return
                text = self.line()
                pad = max(0, self._width - len(text))
                self._width = len(text)
                self.stream.write("\r" + text + " " * pad)
            else:
                if not first_end and now - self._last < self.plain_every:
                    return
                self.stream.write(self.line() + "\n")
            self._last = now
            self.stream.flush()

    def finish(self) -> None:
        with self._lock:
            text = self.line()
            if self.tty:
                pad = max(0, self._width - len(text))
                self.stream.write("\r" + text + " " * pad + "\n")
            else:
                self.stream.write(text + "\n")
            self.stream.flush()


def _retrieve_json(method: Any, rep: Any, store: Any, interrupted: bool) -> dict[str, Any]:
    return {
        "method": method.value,
        "ok": rep.ok,
        "interrupted": interrupted,
        "error": rep.error,
        "folder": str(store.root),
        "received": rep.received,
        "bytes": rep.nbytes,
        "seconds": round(rep.seconds, 3),
        "series": [
            {
                "series_instance_uid": s.series_instance_uid,
                "total": s.total,
                "done": s.done,
                "received": s.received,
                "skipped": s.skipped,
                "bytes": s.nbytes,
                "status": s.status.value,
                "message": s.message,
                "missing": s.missing,
            }
            for s in rep.series
        ],
    }


def _run_interruptible(fn: Any, cancel: Any) -> tuple[Any, bool]:
    """Run ``fn()`` with Ctrl+C turned into ``cancel.cancel()``: the transfer stops after what
    is in flight, keeps what arrived, and ``fn`` returns its report. A second Ctrl+C gives up
    at once (KeyboardInterrupt). Returns (result, interrupted)."""
    import signal

    hits = [0]

    def on_sigint(_sig: int, _frame: Any) -> None:
        hits[0] += 1
        if hits[0] > 1:
            raise KeyboardInterrupt
        cancel.cancel()
        print("\ninterrupted: stopping after what is in flight...", file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        return fn(), False
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = fn()
    finally:
        signal.signal(signal.SIGINT, previous)
    return result, hits[0] > 0


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.pacs import (
        CancelToken,
        DicomWebNode,
        LocalStore,
        Method,
        NodeSettings,
        PacsError,
        Retriever,
        StudyQuery,
        find_studies,
        list_series,
        send,
        test_connection,
    )
    from namecar_viewer.pacs.errors import TransferCancelled
    from namecar_viewer.pacs.local_store import default_retrieve_dir, index_import_hook

    try:
        settings = NodeSettings.load(args.settings)
        if args.action == "nodes":
            return _nodes(args, settings)
        node = _node(args, settings)
        local = _local(args, settings)
        if args.action == "echo":
            print(test_connection(node, local))
            return 0
        if args.action == "find":
            if args.study:
                rows: list[Any] = list_series(node, local, args.study)
            else:
                q = StudyQuery(
                    args.patient_id,
                    args.patient_name,
                    args.date_from,
                    args.date_to,
                    args.modality,
                    args.accession,
                    args.subject_id,
                )
                rows = find_studies(node, local, q)
            if args.json:
                json.dump([r.__dict__ for r in rows], sys.stdout, indent=2)
                print()
            else:
                for r in rows:
                    if args.study:
                        print(
                            f"{r.series_number or '':>4} {r.modality:3s} {r.n_instances or '?':>5} "
                            f"{r.series_description:30s} {r.series_instance_uid}"
                        )
                    else:
                        print(
                            f"{r.study_date:8s} {r.patient_id:16s} {r.modalities:8s} "
                            f"{r.n_instances or '?':>5} {r.study_description:30s} "
                            f"{r.study_instance_uid}"
                        )
            return 0
        if args.action in ("get", "move"):
            if args.action == "move":
                if isinstance(node, DicomWebNode):
                    raise PacsError("C-MOVE needs a DIMSE node (use 'get' for WADO-RS)")
                method = Method.C_MOVE
            else:
                method = Method.WADO_RS if isinstance(node, DicomWebNode) else Method.C_GET
            store = LocalStore(args.out or default_retrieve_dir())
            cancel = CancelToken()
            hook = None if args.no_index else index_import_hook()
            if hook is not None:
                index_hook = hook

                def hook(folders: list[Path]) -> Any:
                    # after Ctrl+C: stop now; a resumed retrieve indexes these folders
                    return None if cancel.cancelled else index_hook(folders)

            if args.transfer_syntax and isinstance(node, DicomWebNode):
                from dataclasses import replace

                node = replace(node, transfer_syntax=args.transfer_syntax).validate()
            retriever = Retriever(local, store, import_hook=hook)
            series = None
            if args.series:
                series = [
                    s
                    for s in list_series(node, local, args.study)
                    if s.series_instance_uid in set(args.series)
                ]
            progress = StudyProgress(args.study)

            def on_progress(p: Any) -> None:
                if not args.quiet:
                    progress(p)

            try:
                rep, interrupted = _run_interruptible(
                    lambda: retriever.retrieve(
                        method,
                        node,
                        args.study,
                        series,
                        cancel=cancel,
                        on_progress=on_progress,
                        parallel=args.parallel,
                    ),
                    cancel,
                )
            finally:
                retriever.shutdown()
            if not args.quiet:
                progress.finish()
            if args.json:
                json.dump(_retrieve_json(method, rep, store, interrupted), sys.stdout, indent=2)
                print()
            else:
                for s in rep.series:
                    print(
                        f"{s.series_instance_uid}: {s.status.value}, {s.done}/{s.total} "
                        f"({s.message})"
                    )
            if rep.error:
                print(f"error: {rep.error}", file=sys.stderr)
            print(
                f"{rep.received} instances ({rep.nbytes / 1e6:.1f} MB) received in "
                f"{rep.seconds:.1f} s; files in {store.root}",
                file=sys.stderr,
            )
            if interrupted:
                return 130
            return 0 if rep.ok else 1
        if args.action == "send":
            deidentify = None
            if args.deid:
                from namecar_viewer.deid import Deidentifier, DeidMapping, DeidOptions

                mapping = DeidMapping(args.mapping)
                deid = Deidentifier(
                    mapping, DeidOptions(keep_philips_suv_private=args.keep_philips_suv)
                )
                warned: set[str] = set()

                def deidentify(ds: Any) -> Any:
                    res = deid.deidentify(ds, args.subject_id)
                    for w in res.warnings:
                        if w not in warned:
                            warned.add(w)
                            print(f"warning: {w}", file=sys.stderr)
                    return res

            send_cancel = CancelToken()
            sent: list[Any] = []

            def on_result(r: Any) -> None:
                sent.append(r)

            def do_send() -> Any:
                kw = {} if args.streams is None else {"streams": args.streams}
                try:
                    return send(
                        node,
                        local,
                        args.paths,
                        deidentify=deidentify,
                        cancel=send_cancel,
                        on_result=on_result,
                        **kw,
                    )
                except TransferCancelled as exc:
                    return getattr(exc, "results", list(sent))

            results, send_interrupted = _run_interruptible(do_send, send_cancel)
            if args.json:
                json.dump([r.__dict__ for r in results], sys.stdout, indent=2)
                print()
            else:
                for r in results:
                    print(
                        f"{'OK  ' if r.ok else 'FAIL'} {r.path}  {r.sop_instance_uid}  {r.status}"
                        + (f"  {r.message}" if r.message else "")
                    )
            n_ok = sum(r.ok for r in results)
            print(f"{n_ok} of {len(results)} instances sent", file=sys.stderr)
            if send_interrupted:
                return 130
            return 0 if n_ok == len(results) else 1
    except PacsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from namecar_viewer.deid import DeidError, MappingError

        if isinstance(exc, DeidError | MappingError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
    return 2
