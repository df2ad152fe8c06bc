"""``namecar-viewer pacs echo|find|get|move|send|nodes``: scripted PACS transfers.

The remote node is a named node from the settings (``--node NAME``, see ``pacs nodes``) or given
inline: ``--aet AET --host HOST --port PORT`` for DIMSE, ``--url URL [--user U --password P |
--token T]`` for DICOMweb. Exit status 0 on success, 1 when something failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
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
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("send", help="C-STORE / STOW-RS files or folders (SR, PDF, series)")
    _common(p)
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--deid", action="store_true", help="send a de-identified copy")
    p.add_argument("--subject-id", help="trial subject ID for --deid")
    p.add_argument("--mapping", type=Path, help="de-identification mapping database")
    p.add_argument("--keep-philips-suv", action="store_true", help="keep private group 7053")
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


def _print_progress(p: Any) -> None:
    total = "?" if p.total is None else p.total
    print(
        f"  {p.series_instance_uid}  {p.done}/{total}  {p.status.value}"
        + (f"  {p.message}" if p.message and p.status.value != "running" else ""),
        file=sys.stderr,
    )


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.pacs import (
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
            hook = None if args.no_index else index_import_hook()
            retriever = Retriever(local, store, import_hook=hook)
            series = None
            if args.series:
                series = [
                    s
                    for s in list_series(node, local, args.study)
                    if s.series_instance_uid in set(args.series)
                ]
            try:
                rep = retriever.retrieve(
                    method, node, args.study, series, on_progress=_print_progress
                )
            finally:
                retriever.shutdown()
            if args.json:
                json.dump(
                    {
                        "method": method.value,
                        "ok": rep.ok,
                        "error": rep.error,
                        "folder": str(store.root),
                        "series": [
                            {
                                "series_instance_uid": s.series_instance_uid,
                                "total": s.total,
                                "done": s.done,
                                "received": s.received,
                                "skipped": s.skipped,
                                "status": s.status.value,
                                "message": s.message,
                                "missing": s.missing,
                            }
                            for s in rep.series
                        ],
                    },
                    sys.stdout,
                    indent=2,
                )
                print()
            else:
                for s in rep.series:
                    print(
                        f"{s.series_instance_uid}: {s.status.value}, {s.done}/{s.total} "
                        f"({s.message})"
                    )
            if rep.error:
                print(f"error: {rep.error}", file=sys.stderr)
            print(f"files in {store.root}", file=sys.stderr)
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

            results = send(node, local, args.paths, deidentify=deidentify)
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
