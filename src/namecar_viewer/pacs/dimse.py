"""DIMSE services with pynetdicom: C-ECHO, C-FIND, C-GET, C-MOVE and C-STORE.

Every failure is turned into a :class:`PacsError` whose message names the node and says what
happened: nothing listens (server down), the association was rejected (with the reason the peer
gave, e.g. "Called AE title not recognised"), or the connection was lost during a transfer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from namecar_viewer.pacs.errors import PacsError, TransferCancelled
from namecar_viewer.pacs.local_store import _LONG_VRS, LocalStore, SeriesWriter, part10_prefix
from namecar_viewer.pacs.nodes import DimseNode, LocalAe

# Storage SOP classes a reading workstation asks for when it is the C-STORE SCP of a C-GET
# (at most 128 presentation contexts fit in one association, PS3.8 9.3.2.2).
RETRIEVE_SOP_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image Storage
    "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image Storage
    "1.2.840.10008.5.1.4.1.1.128",  # Positron Emission Tomography Image Storage
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image Storage
    "1.2.840.10008.5.1.4.1.1.20",  # Nuclear Medicine Image Storage
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image Storage
    "1.2.840.10008.5.1.4.1.1.88.11",  # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
    "1.2.840.10008.5.1.4.1.1.88.59",  # Key Object Selection Document
    "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF Storage
    "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation Storage
    "1.2.840.10008.5.1.4.1.1.67",  # Real World Value Mapping Storage
    "1.2.840.10008.5.1.4.1.1.30",  # Parametric Map Storage
    "1.2.840.10008.5.1.4.1.1.481.3",  # RT Structure Set Storage
    "1.2.840.10008.5.1.4.1.1.11.1",  # Grayscale Softcopy Presentation State
)
TRANSFER_SYNTAXES = [
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGLosslessSV1,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
]
_BASIC_TS = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
VERIFICATION = "1.2.840.10008.1.1"

# PS3.7 C.4 status classes
_PENDING = (0xFF00, 0xFF01)
_SUCCESS = 0x0000
_CANCEL = 0xFE00
_WARNING = (0x0001, 0xB000, 0xB006, 0xB007)


def _status_text(status: int) -> str:
    try:
        from pynetdicom.status import code_to_category

        return f"0x{status:04X} ({code_to_category(status)})"
    except Exception:  # noqa: BLE001 - cosmetic only
        return f"0x{status:04X}"


def check_reachable(node: DimseNode) -> None:
    """Fail fast with a clear message when nothing accepts TCP connections at the node, or,
    for a TLS node, when the TLS handshake fails (the reason named: an untrusted certificate,
    a host name the certificate does not cover, a client certificate the peer refuses)."""
    try:
        with socket.create_connection(
            (node.host, node.port), timeout=min(node.timeout_s, 5)
        ) as sock:
            if node.tls.enabled:
                _check_tls(node, sock)
    except ConnectionRefusedError:
        raise PacsError(
            f"{node.name}: nothing listens at {node.host}:{node.port} (connection refused); "
            "is the server running and the port right?"
        ) from None
    except TimeoutError:
        raise PacsError(
            f"{node.name}: no answer from {node.host}:{node.port} within "
            f"{min(node.timeout_s, 5):.0f} s (host down or firewall)"
        ) from None
    except OSError as exc:
        raise PacsError(f"{node.name}: cannot reach {node.host}:{node.port}: {exc}") from None


def _check_tls(node: DimseNode, sock: socket.socket, read_s: float = 0.0) -> None:
    """The TLS handshake on ``sock``; ``read_s`` > 0 also waits that long for an alert (with
    TLS 1.3 a refused client certificate shows only when data is read)."""
    import ssl

    try:
        ctx = node.tls.ssl_context()
    except (OSError, ssl.SSLError) as exc:
        raise PacsError(f"{node.name}: TLS settings cannot be used: {exc}") from None
    try:
        with ctx.wrap_socket(sock, server_hostname=node.host) as tls:
            if read_s > 0:
                tls.settimeout(read_s)
                with contextlib.suppress(TimeoutError):
                    tls.recv(1)
    except ssl.SSLCertVerificationError as exc:
        raise PacsError(
            f"{node.name}: the TLS certificate of {node.host}:{node.port} is not trusted: "
            f"{exc.verify_message or exc.reason}"
        ) from None
    except ssl.SSLError as exc:
        hint = "" if node.tls.cert_file else " (does the server require a client certificate?)"
        raise PacsError(
            f"{node.name}: TLS with {node.host}:{node.port} failed: {exc.reason or exc}{hint}"
        ) from None


def _tls_diagnosis(node: DimseNode) -> str:
    """Why a TLS association failed, when a fresh handshake tells; else an empty string."""
    try:
        with socket.create_connection((node.host, node.port), timeout=5) as sock:
            _check_tls(node, sock, read_s=2.0)
    except PacsError as exc:
        return str(exc)
    except OSError:
        return ""
    return ""


#: The largest PDU we accept (PS3.8 9.3.1: 0 would be "no limit"); peers cap what they send
#: by their own limit (dcmtk-based archives at 128 KiB), far fewer PDUs than pynetdicom's 16 KiB
RECEIVE_PDU_SIZE = 4 << 20
_RUN_LOOP_DELAY = 0.0002  # pynetdicom's reactor sleeps 1 ms when idle: 0.2 ms between PDUs
#: The idle sleep of a C-MOVE's own association, which only hears a small response per instance
#: (the instances come on our receiver's): a reactor waking every 0.2 ms for them, one per
#: series at once, took the GIL from the threads receiving the data
_MOVE_RUN_LOOP_DELAY = 0.005


def _quiet_pynetdicom() -> None:
    """No per-message debug logging handlers (pynetdicom binds them to every association and
    formats a log record for each DIMSE message even when nothing is logged)."""
    from pynetdicom import _config

    _config.LOG_HANDLER_LEVEL = "none"


def _make_ae(local: LocalAe, node: DimseNode) -> Any:
    from pynetdicom import AE

    _quiet_pynetdicom()
    ae = AE(ae_title=local.ae_title)
    ae.acse_timeout = node.timeout_s
    ae.dimse_timeout = node.timeout_s
    ae.network_timeout = node.timeout_s
    ae.connection_timeout = min(node.timeout_s, 10)
    ae.maximum_pdu_size = RECEIVE_PDU_SIZE
    return ae


def tune_association(assoc: Any) -> None:
    """Nagle off, no delayed acknowledgements, whole-PDU reads straight into one buffer
    (pynetdicom reads 4 KiB at a time) and a shorter idle sleep of the reactor: the per-PDU
    costs that bound a C-GET's rate; an acceptor (our C-MOVE receiver) also takes each
    received message as soon as it is complete."""
    dul = getattr(assoc, "dul", None)
    wrapper = getattr(dul, "socket", None)
    sock = getattr(wrapper, "socket", None)
    if dul is None or sock is None:
        return
    dul._run_loop_delay = _RUN_LOOP_DELAY
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if getattr(assoc, "is_acceptor", False):
        _wake_on_message(assoc)
    _direct_store_responses(assoc)
    _light_pending_responses(assoc)
    import ssl

    if isinstance(sock, ssl.SSLSocket):
        return  # TLS: leave pynetdicom's own reads

    quickack = _quickack_setter(sock)

    def recv(nr_bytes: int) -> bytearray:
        buf = bytearray(nr_bytes)
        got = 0
        with memoryview(buf) as mv:
            while got < nr_bytes:
                k = sock.recv_into(mv[got:], nr_bytes - got)
                quickack()
                if not k:
                    break
                got += k
        if got < nr_bytes:
            del buf[got:]
        return buf

    wrapper.recv = recv
    dul._read_pdu_data = _merging_reader(dul, sock, recv)
    _wait_when_idle(assoc, dul, wrapper, sock)


_IDLE_WAIT_S = 0.005


def _wait_when_idle(assoc: Any, dul: Any, wrapper: Any, sock: socket.socket) -> None:
    """pynetdicom's reactor polls its socket and its queue of primitives to send every
    0.2 ms (as tuned) when idle, taking the GIL each time: a C-MOVE's own association and every
    association waiting for the archive's next instance did so thousands of times a second.
    Instead it waits in ``select`` for the socket or for a primitive to send (a byte on a
    socket pair written by the queue's ``put``), at most 5 ms so that its timers and a stop are
    still seen. The pair is closed with the connection or when the association ends, whichever
    comes first (then the reactor polls as before)."""
    import select

    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    to_send = dul.to_provider_queue
    events = dul.event_queue
    put = to_send.put

    def put_and_wake(item: Any, block: bool = True, timeout: float | None = None) -> None:
        put(item, block, timeout)
        with contextlib.suppress(OSError):
            wake_w.send(b"\0")

    transport_event = dul._is_transport_event
    process_primitive = dul._process_recv_primitive

    def wait_for_event() -> bool:
        if dul.state_machine.current_state == "Sta13" or to_send.qsize() or events.qsize():
            return bool(transport_event())
        try:
            ready, _, _ = select.select([sock, wake_r], [], [], _IDLE_WAIT_S)
        except (OSError, ValueError):
            return bool(transport_event())
        if wake_r in ready:
            with contextlib.suppress(OSError):
                wake_r.recv(4096)
            if process_primitive():
                return True
        return bool(transport_event()) if sock in ready else False

    close, kill = wrapper.close, assoc.kill

    def close_pair() -> None:
        wake_r.close()
        wake_w.close()

    def close_all() -> None:
        close()
        close_pair()

    def kill_all() -> None:
        kill()
        close_pair()

    to_send.put = put_and_wake
    dul._is_transport_event = wait_for_event
    wrapper.close = close_all
    assoc.kill = kill_all


def encode_store_response(
    sop_class_uid: str, message_id: int, status: int, sop_instance_uid: str
) -> bytes:
    """The command set of a C-STORE-RSP without further elements (PS3.7 9.3.1.2), encoded as
    every command set is: implicit VR little endian, group length first."""
    import struct

    def uid(value: str) -> bytes:
        b = value.encode("ascii")
        return b + b"\0" if len(b) % 2 else b

    elements = (
        (0x0002, uid(sop_class_uid)),
        (0x0100, struct.pack("<H", 0x8001)),  # Command Field: C-STORE-RSP
        (0x0120, struct.pack("<H", message_id)),
        (0x0800, struct.pack("<H", 0x0101)),  # Command Data Set Type: none
        (0x0900, struct.pack("<H", status)),
        (0x1000, uid(sop_instance_uid)),
    )
    body = b"".join(struct.pack("<HHL", 0, e, len(v)) + v for e, v in elements)
    return struct.pack("<HHLL", 0, 0, 4, len(body)) + body


def _direct_store_responses(assoc: Any) -> None:
    """Our C-STORE responses (one per received instance, of a C-GET or a C-MOVE) encoded
    directly as one P-DATA rather than through pydicom and pynetdicom's message classes (a fifth
    of the receiving threads' time); any other message, or a response with an error comment or
    an offending element, goes pynetdicom's way. pynetdicom's EVT_DIMSE_SENT is not triggered
    for them (nothing here listens to it)."""
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.pdu_primitives import P_DATA

    dimse_provider: Any = getattr(assoc, "dimse", None)
    send_msg = getattr(dimse_provider, "send_msg", None)
    if send_msg is None:
        return

    def send(primitive: Any, context_id: int) -> None:
        if (
            type(primitive) is C_STORE
            and primitive.MessageIDBeingRespondedTo is not None
            and primitive.AffectedSOPClassUID is not None
            and primitive.AffectedSOPInstanceUID is not None
            and primitive.Status is not None
            and primitive.ErrorComment is None
            and primitive.OffendingElement is None
        ):
            command = encode_store_response(
                str(primitive.AffectedSOPClassUID),
                int(primitive.MessageIDBeingRespondedTo),
                int(primitive.Status),
                str(primitive.AffectedSOPInstanceUID),
            )
            max_pdu = dimse_provider.maximum_pdu_size
            if not max_pdu or len(command) + 6 <= max_pdu:
                pdata = P_DATA()
                pdata.presentation_data_value_list.append((context_id, b"\x03" + command))
                dimse_provider.dul.send_pdu(pdata)
                return
        send_msg(primitive, context_id)

    dimse_provider.send_msg = send


def _pending_retrieve_response(pdv: bytes) -> tuple[int, int, int] | None:
    """(Command Field, Message ID Being Responded To, Status) of a whole command set given as
    one PDV (control header and implicit VR little endian elements) when it is a pending
    C-GET/C-MOVE response without an identifier; else None."""
    import struct

    if len(pdv) < 9 or pdv[0] != 0x03:
        return None
    values: dict[int, int] = {}
    off, n = 1, len(pdv)
    while off + 8 <= n:
        group, elem, length = struct.unpack_from("<HHL", pdv, off)
        off += 8
        if group != 0 or off + length > n:
            return None
        if elem in (0x0100, 0x0120, 0x0800, 0x0900):
            if length != 2:
                return None
            (values[elem],) = struct.unpack_from("<H", pdv, off)
        off += length
    if off != n or len(values) != 4:
        return None
    if values[0x0100] not in (0x8010, 0x8021) or values[0x0900] not in _PENDING:
        return None
    if values[0x0800] != 0x0101:  # an identifier follows
        return None
    return values[0x0100], values[0x0120], values[0x0900]


_PENDING_EVERY_S = 0.1


def _light_pending_responses(assoc: Any) -> None:
    """The archive's pending C-GET/C-MOVE responses (one per instance, carrying only the
    sub-operation counts, which we do not use) are not decoded by pydicom (0.3 ms each) and
    only one in 0.1 s is handed on, as a bare primitive with its status, to pynetdicom's
    response loop (another 0.2 ms each there): enough for its DIMSE timeout to keep counting
    from the latest one and for a cancel to be seen. Every other message is decoded as
    pynetdicom does."""
    from pynetdicom.dimse_primitives import C_GET, C_MOVE

    dimse_provider: Any = getattr(assoc, "dimse", None)
    receive = getattr(dimse_provider, "receive_primitive", None)
    if receive is None:
        return
    kinds = {0x8010: C_GET, 0x8021: C_MOVE}
    last = [0.0]

    def receive_primitive(primitive: Any) -> None:
        pdvs = primitive.presentation_data_value_list
        if dimse_provider.message is None and len(pdvs) == 1:
            context_id, pdv = pdvs[0]
            found = _pending_retrieve_response(pdv)
            if found is not None:
                now = time.monotonic()
                if now - last[0] < _PENDING_EVERY_S:
                    return
                last[0] = now
                field_, message_id, status = found
                rsp = kinds[field_]()
                rsp.MessageIDBeingRespondedTo = message_id
                rsp.Status = status
                dimse_provider.msg_queue.put((context_id, rsp))
                return
        receive(primitive)

    dimse_provider.receive_primitive = receive_primitive


_ACCEPTOR_WAIT_S = 0.005


def _wake_on_message(assoc: Any) -> None:
    """pynetdicom's acceptor reactor (our C-STORE receiver) looks at its queue of received
    messages once per millisecond, without waiting: each C-STORE of a C-MOVE waited for the next
    look. That look becomes a wait of up to 5 ms which returns as soon as a message is complete;
    between waits the reactor still checks for a release, an abort and the idle timeout."""
    import queue

    dimse_provider: Any = getattr(assoc, "dimse", None)
    messages = getattr(dimse_provider, "msg_queue", None)
    if messages is None:
        return

    def get_msg(block: bool = False) -> tuple[Any, Any]:
        timeout = dimse_provider.dimse_timeout if block else _ACCEPTOR_WAIT_S
        try:
            return messages.get(block=True, timeout=timeout)  # type: ignore[no-any-return]
        except queue.Empty:
            return None, None

    dimse_provider.get_msg = get_msg


def _quickack_setter(sock: socket.socket) -> Callable[[], None]:
    """A call that asks the kernel to acknowledge what we receive at once (Linux
    ``TCP_QUICKACK``: an acknowledgement the kernel held back is sent now; the kernel leaves
    that mode again by itself, hence re-armed after every read).

    A sender with Nagle's algorithm on (dcmtk-based archives unless started with
    ``TCP_NODELAY=1``, Orthanc among them) holds the last partial segment of each message until
    everything before it is acknowledged, and a delayed ACK takes 40 ms: about one instance in
    fifteen of a C-MOVE stalled that long. A no-op where the option does not exist."""
    opt = getattr(socket, "TCP_QUICKACK", None)
    if opt is None:
        return lambda: None

    def arm() -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, opt, 1)

    arm()
    return arm


class _MergedPData:
    """Stands in for a decoded P-DATA-TF PDU: pynetdicom's state machine only asks it for its
    P-DATA primitive."""

    __slots__ = ("primitive",)

    def __init__(self, primitive: Any) -> None:
        self.primitive = primitive

    def to_primitive(self) -> Any:
        return self.primitive


MERGE_LIMIT = 4 << 20  # bytes of P-DATA merged into one primitive at most


def _merging_reader(dul: Any, sock: socket.socket, recv: Callable[[int], bytearray]) -> Any:
    """pynetdicom's PDU read, with consecutive P-DATA-TF PDUs already waiting on the socket
    merged into one P-DATA primitive (their fragments of one message joined, up to the end of
    that message): a peer sending 16 KiB PDUs costs one pass through pynetdicom's state
    machine per instance rather than per PDU. Other PDUs are read and decoded as pynetdicom
    does."""
    import select
    import struct

    from pynetdicom.pdu_primitives import P_DATA

    def read() -> None:
        try:
            hdr = recv(6)
            if len(hdr) < 6:
                dul.event_queue.put("Evt17")
                return
            pdu_type, _, length = struct.unpack(">BBL", hdr)
            if pdu_type not in (1, 2, 3, 4, 5, 6, 7):
                dul.event_queue.put("Evt19")
                return
            if pdu_type != 0x04:
                body = recv(length)
                if len(body) != length:
                    dul.event_queue.put("Evt17")
                    return
                try:
                    pdu, event = dul._decode_pdu(hdr + body)
                except Exception:  # noqa: BLE001 - as pynetdicom: an invalid PDU
                    dul.event_queue.put("Evt19")
                    return
                dul.event_queue.put(event)
                dul._recv_pdu.put(pdu)
                return
            pdvs: list[list[Any]] = []  # [context id, control header, [fragments]]
            total = 0
            while True:
                body = recv(length)
                if len(body) != length:
                    dul.event_queue.put("Evt17")
                    return
                mv = memoryview(body)
                off = 0
                while off + 6 <= length:
                    (item_len,) = struct.unpack_from(">L", body, off)
                    ctx, ctrl = body[off + 4], body[off + 5]
                    data = mv[off + 6 : off + 4 + item_len]
                    off += 4 + item_len
                    last = pdvs[-1] if pdvs else None
                    if (
                        last is not None
                        and last[0] == ctx
                        and (last[1] & 1) == (ctrl & 1)
                        and not last[1] & 2
                    ):
                        last[1] = ctrl
                        last[2].append(data)
                    else:
                        pdvs.append([ctx, ctrl, [data]])
                    total += len(data)
                if not pdvs or pdvs[-1][1] & 2 or total >= MERGE_LIMIT:
                    break
                ready, _, _ = select.select([sock], [], [], 0)
                if not ready:
                    break
                peek = sock.recv(6, socket.MSG_PEEK)
                if len(peek) < 6 or peek[0] != 0x04:
                    break
                hdr = recv(6)
                (length,) = struct.unpack_from(">L", hdr, 2)
            primitive = P_DATA()
            primitive.presentation_data_value_list = [
                [ctx, bytes([ctrl]) + b"".join(chunks)] for ctx, ctrl, chunks in pdvs
            ]
            dul.event_queue.put("Evt10")
            dul._recv_pdu.put(_MergedPData(primitive))
        except (OSError, TimeoutError):
            dul.event_queue.put("Evt17")

    return read


def _part10_prefix(event: Any) -> bytes:
    """Preamble, DICM and File Meta Information of a received C-STORE data set."""
    req = event.request
    return part10_prefix(
        str(req.AffectedSOPClassUID),
        str(req.AffectedSOPInstanceUID),
        str(event.context.transfer_syntax),
    )


_SERIES_UID_TAG = 0x0020000E


def _leading_elements(event: Any) -> Dataset:
    """The received data set's elements up to the Series Instance UID, read in place from the
    bytes as sent (the pixel data is never touched); the whole data set decoded only for a
    deflated transfer syntax."""
    from pydicom.filereader import read_dataset
    from pydicom.uid import UID

    ts = UID(str(event.context.transfer_syntax))
    if ts.is_deflated:
        return event.dataset  # type: ignore[no-any-return]
    fp = event.request.DataSet
    fp.seek(0)
    try:
        return read_dataset(
            fp,
            ts.is_implicit_VR,
            ts.is_little_endian,
            stop_when=lambda tag, _vr, _length: tag > _SERIES_UID_TAG,
        )
    finally:
        fp.seek(0)


_STUDY_UID_TAG = 0x0020000D


def _scan_study_series(data: memoryview, implicit_vr: bool) -> tuple[str, str] | None:
    """Study and Series Instance UIDs of a little endian data set, stepping over the elements
    before them by their lengths (nothing decoded); None when that cannot be done (an undefined
    length, e.g. a sequence, or an unreadable VR) and a parser has to read them."""
    import struct

    study = series = ""
    off, n = 0, len(data)
    while off + 8 <= n:
        group, elem = struct.unpack_from("<HH", data, off)
        tag = group << 16 | elem
        if tag > _SERIES_UID_TAG:
            break
        if implicit_vr:
            (length,) = struct.unpack_from("<L", data, off + 4)
            start = off + 8
        else:
            vr = bytes(data[off + 4 : off + 6])
            if not (vr.isalpha() and vr.isupper()):
                return None
            if vr in _LONG_VRS:
                if off + 12 > n:
                    return None
                (length,) = struct.unpack_from("<L", data, off + 8)
                start = off + 12
            else:
                (length,) = struct.unpack_from("<H", data, off + 6)
                start = off + 8
        if length == 0xFFFFFFFF or start + length > n:
            return None
        if tag in (_STUDY_UID_TAG, _SERIES_UID_TAG):
            value = bytes(data[start : start + length]).decode("ascii", "replace").strip("\x00 ")
            if tag == _STUDY_UID_TAG:
                study = value
            else:
                series = value
                break
        off = start + length
    return study, series


def _study_series(event: Any) -> tuple[str, str]:
    """Study and Series Instance UIDs of a received data set, read from the bytes as sent
    (pydicom reads the elements up to them only when they cannot simply be stepped over)."""
    from pydicom.uid import UID

    ts = UID(str(event.context.transfer_syntax))
    if ts.is_little_endian and not ts.is_deflated:
        found = _scan_study_series(_received_bytes(event), ts.is_implicit_VR)
        if found is not None:
            return found
    ds = _leading_elements(event)
    return str(ds.get("StudyInstanceUID", "")), str(ds.get("SeriesInstanceUID", ""))


def _received_bytes(event: Any) -> memoryview:
    """The data set as the peer encoded it (no decoding, no copy)."""
    return memoryview(event.request.DataSet.getbuffer())


@contextlib.contextmanager
def association(
    node: DimseNode,
    local: LocalAe,
    contexts: Sequence[tuple[str, Sequence[str]]],
    scp_roles: Sequence[str] = (),
    handlers: Sequence[tuple[Any, Callable[..., Any]]] = (),
) -> Iterator[Any]:
    """An established association; released on exit (aborted when an error escapes)."""
    from pynetdicom import build_role, evt

    node.validate()
    check_reachable(node)
    ae = _make_ae(local, node)
    for uid, syntaxes in contexts:
        ae.add_requested_context(uid, list(syntaxes))
    roles = [build_role(uid, scp_role=True) for uid in scp_roles]
    rejection: list[str] = []

    def on_acse(event: Any) -> None:
        p = event.primitive
        if getattr(p, "result", None) in (0x01, 0x02):
            rejection.append(f"{p.result_str}, {p.source_str}: {p.reason_str}")

    all_handlers = [(evt.EVT_ACSE_RECV, on_acse), *handlers]
    tls = (node.tls.ssl_context(), node.host) if node.tls.enabled else None
    assoc = ae.associate(
        node.host,
        node.port,
        ae_title=node.ae_title,
        ext_neg=roles or None,
        evt_handlers=all_handlers,
        tls_args=tls,
    )
    if assoc.is_established:
        tune_association(assoc)
    if not assoc.is_established:
        if assoc.is_rejected or rejection:
            raise PacsError(
                f"{node.name}: association refused by {node.address}"
                + (f": {rejection[0]}" if rejection else "")
                + f" (our AE title {local.ae_title!r})"
            )
        why = _tls_diagnosis(node) if node.tls.enabled else ""
        if why:
            raise PacsError(why)
        raise PacsError(
            f"{node.name}: association with {node.address} failed (aborted by the peer or "
            "timed out" + ("; check the TLS settings" if node.tls.enabled else "") + ")"
        )
    ok = False
    try:
        yield assoc
        ok = True
    finally:
        if assoc.is_established:
            if ok:
                assoc.release()
            else:
                assoc.abort()
        ae.shutdown()


def echo(node: DimseNode, local: LocalAe) -> float:
    """C-ECHO; returns the round trip in milliseconds."""
    t0 = time.perf_counter()
    with association(node, local, [(VERIFICATION, _BASIC_TS)]) as a:
        status = a.send_c_echo()
        if not status or "Status" not in status:
            raise PacsError(f"{node.name}: no answer to C-ECHO from {node.address}")
        if status.Status != _SUCCESS:
            raise PacsError(f"{node.name}: C-ECHO failed with status {_status_text(status.Status)}")
    return (time.perf_counter() - t0) * 1000.0


def find(node: DimseNode, local: LocalAe, identifier: Dataset) -> list[Dataset]:
    """Study Root C-FIND; returns every matching identifier."""
    out: list[Dataset] = []
    with association(node, local, [(STUDY_ROOT_FIND, _BASIC_TS)]) as a:
        for status, ident in a.send_c_find(identifier, STUDY_ROOT_FIND):
            if not status:
                raise PacsError(
                    f"{node.name}: connection lost during C-FIND "
                    f"({identifier.QueryRetrieveLevel} level) after {len(out)} results"
                )
            if status.Status in _PENDING:
                if ident is not None:
                    out.append(ident)
            elif status.Status != _SUCCESS:
                comment = status.get("ErrorComment", "")
                raise PacsError(
                    f"{node.name}: C-FIND failed with status {_status_text(status.Status)}"
                    + (f": {comment}" if comment else "")
                )
    return out


@dataclass
class TransferOutcome:
    """What a C-GET/C-MOVE sub-operation batch reported and what actually arrived."""

    received: list[str] = field(default_factory=list)  # SOP Instance UIDs written
    failed_remote: list[str] = field(default_factory=list)  # Failed SOP Instance UID List
    warnings: list[str] = field(default_factory=list)
    nbytes: int = 0  # bytes received


class CancelToken:
    """Set from any thread to stop a transfer between instances."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def reset(self) -> None:
        self._event.clear()


def _retrieve_identifier(study: str, series: str, sops: Sequence[str] | None) -> Dataset:
    ds = Dataset()
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    if sops:
        ds.QueryRetrieveLevel = "IMAGE"
        ds.SOPInstanceUID = list(sops) if len(sops) > 1 else sops[0]
    else:
        ds.QueryRetrieveLevel = "SERIES"
    return ds


def _failed_list(ident: Dataset | None) -> list[str]:
    if ident is None or "FailedSOPInstanceUIDList" not in ident:
        return []
    v = ident.FailedSOPInstanceUIDList
    return [
        str(x)
        for x in (
            v
            if isinstance(v, list | tuple) or (hasattr(v, "__iter__") and not isinstance(v, str))
            else [v]
        )
    ]


def _drive(
    node: DimseNode,
    what: str,
    responses: Any,
    assoc: Any,
    outcome: TransferOutcome,
    cancel: CancelToken | None,
) -> None:
    for status, ident in responses:
        if cancel is not None and cancel.cancelled:
            assoc.abort()
            raise TransferCancelled(
                f"{what} cancelled after {len(outcome.received)} instances; they are kept"
            )
        if not status:
            raise PacsError(
                f"{node.name}: connection to {node.address} lost during {what} after "
                f"{len(outcome.received)} instances were received; they are kept and a new "
                "retrieve resumes with the missing ones"
            )
        s = status.Status
        if s in _PENDING:
            continue
        outcome.failed_remote.extend(_failed_list(ident))
        if s == _SUCCESS:
            return
        if s == _CANCEL:
            raise TransferCancelled(f"{what} cancelled by the peer")
        if s in _WARNING:
            outcome.warnings.append(
                f"{what}: warning status {_status_text(s)}, "
                f"{int(status.get('NumberOfFailedSuboperations', 0) or 0)} failed sub-operations"
            )
            return
        comment = status.get("ErrorComment", "")
        raise PacsError(
            f"{node.name}: {what} failed with status {_status_text(s)}"
            + (f": {comment}" if comment else "")
        )


def _receive_handler(
    writer: SeriesWriter,
    outcome: TransferOutcome,
    on_instance: Callable[[str, str, int], None] | None,
) -> Callable[[Any], int]:
    """C-STORE sub-operations of a C-GET: the bytes as sent go to the series' writer."""

    def handle(event: Any) -> int:
        try:
            sop = str(event.request.AffectedSOPInstanceUID)
            body = _received_bytes(event)
            prefix = _part10_prefix(event)
            writer.write_instance(sop, prefix, body)
            n = len(prefix) + len(body)
        except Exception as exc:  # noqa: BLE001 - answer the peer with a failure status
            outcome.warnings.append(f"instance not stored: {exc}")
            return 0xA700  # Out of resources / refused
        outcome.received.append(sop)
        outcome.nbytes += n
        if on_instance is not None:
            on_instance(writer.series_uid, sop, n)
        return _SUCCESS

    return handle


def c_get(
    node: DimseNode,
    local: LocalAe,
    store: LocalStore,
    study_uid: str,
    series_uid: str,
    sop_uids: Sequence[str] | None = None,
    cancel: CancelToken | None = None,
    on_instance: Callable[[str, str, int], None] | None = None,
) -> TransferOutcome:
    """C-GET a series (or listed instances of it) into ``store`` on the same association; the
    instances are written as they arrive and made durable together at the end (also after a
    cancel or an error, so that a new retrieve asks only for the rest)."""
    from pynetdicom import evt

    outcome = TransferOutcome()
    contexts = [(STUDY_ROOT_GET, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])]
    contexts += [(uid, TRANSFER_SYNTAXES) for uid in RETRIEVE_SOP_CLASSES]
    writer = store.writer(study_uid, series_uid)
    handler = _receive_handler(writer, outcome, on_instance)
    try:
        with association(
            node,
            local,
            contexts,
            scp_roles=RETRIEVE_SOP_CLASSES,
            handlers=[(evt.EVT_C_STORE, handler)],
        ) as a:
            ident = _retrieve_identifier(study_uid, series_uid, sop_uids)
            _drive(node, "C-GET", a.send_c_get(ident, STUDY_ROOT_GET), a, outcome, cancel)
    finally:
        writer.commit()
        writer.discard()
    return outcome


class _SupportedContexts(list):  # type: ignore[type-arg]
    """Our receiver's presentation contexts. pynetdicom deep-copies the server's contexts for
    every association it accepts, each transfer syntax UID re-validated on the way (20 ms of
    the GIL for all storage SOP classes, per series of a C-MOVE); a copy of each context and of
    its list of (immutable) UIDs is what that copy is for."""

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        import copy

        out = []
        for cx in self:
            c = copy.copy(cx)
            c._transfer_syntax = list(cx._transfer_syntax)
            out.append(c)
        return out


_receiver_contexts_cache: list[_SupportedContexts] = []
_receiver_contexts_lock = threading.Lock()


def _receiver_contexts() -> _SupportedContexts:
    """Every storage SOP class with our transfer syntaxes, and Verification: built once per
    process (170 contexts, each UID validated)."""
    from pydicom.uid import UID
    from pynetdicom.presentation import AllStoragePresentationContexts, build_context

    syntaxes: list[str | UID] = list(TRANSFER_SYNTAXES)
    with _receiver_contexts_lock:
        if not _receiver_contexts_cache:
            cxs = _SupportedContexts(
                build_context(cx.abstract_syntax, syntaxes)
                for cx in AllStoragePresentationContexts
                if cx.abstract_syntax is not None
            )
            cxs.append(build_context(VERIFICATION))
            _receiver_contexts_cache.append(cxs)
        return _receiver_contexts_cache[0]


class StoreReceiver:
    """Our C-STORE SCP (the C-MOVE destination), a pynetdicom server thread started on demand."""

    def __init__(self, local: LocalAe, store: LocalStore) -> None:
        self.local = local.validate()
        self.store = store
        self._server: Any = None
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str, str, int], None]] = []
        self.errors: list[str] = []

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        from pynetdicom import AE, evt

        with self._lock:
            if self._server is not None:
                return
            _quiet_pynetdicom()
            ae = AE(ae_title=self.local.ae_title)
            ae.require_called_aet = True
            ae.maximum_pdu_size = RECEIVE_PDU_SIZE
            try:
                self._server = ae.start_server(
                    (self.local.receiver_host, self.local.receiver_port),
                    block=False,
                    contexts=_receiver_contexts(),
                    evt_handlers=[
                        (evt.EVT_C_STORE, self._on_store),
                        (evt.EVT_ACCEPTED, lambda e: tune_association(e.assoc)),
                    ],
                )
            except OSError as exc:
                raise PacsError(
                    f"cannot start our C-STORE receiver on {self.local.receiver_host}:"
                    f"{self.local.receiver_port}: {exc} (port in use? change it in the settings)"
                ) from None

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.shutdown()
                self._server = None

    def add_listener(self, fn: Callable[[str, str, int], None]) -> None:
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[str, str, int], None]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(fn)

    def _on_store(self, event: Any) -> int:
        """The bytes as sent go to the writer of a retrieve in progress for their series (made
        durable at its end), else straight to a durable file of their own."""
        try:
            study, series = _study_series(event)
            sop = str(event.request.AffectedSOPInstanceUID)
            prefix = _part10_prefix(event)
            body = _received_bytes(event)
            writer = self.store.registered_writer(study, series)
            if writer is not None:
                writer.write_instance(sop, prefix, body)
            else:
                self.store.write_bytes(study, series, sop, prefix + bytes(body))
            n = len(prefix) + len(body)
        except Exception as exc:  # noqa: BLE001 - answer the peer with a failure status
            self.errors.append(str(exc))
            return 0xA700
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            fn(series, sop, n)
        return _SUCCESS


def c_move(
    node: DimseNode,
    local: LocalAe,
    receiver: StoreReceiver,
    study_uid: str,
    series_uid: str,
    sop_uids: Sequence[str] | None = None,
    cancel: CancelToken | None = None,
    on_instance: Callable[[str, str, int], None] | None = None,
) -> TransferOutcome:
    """C-MOVE a series to our own receiver (started if needed); what arrives for the series is
    made durable together at the end, as for C-GET."""
    receiver.start()
    outcome = TransferOutcome()
    writer = receiver.store.writer(study_uid, series_uid)
    receiver.store.register_writer(writer)

    def listener(series: str, sop: str, nbytes: int) -> None:
        if series == series_uid:
            outcome.received.append(sop)
            outcome.nbytes += nbytes
            if on_instance is not None:
                on_instance(series_uid, sop, nbytes)

    receiver.add_listener(listener)
    try:
        with association(node, local, [(STUDY_ROOT_MOVE, _BASIC_TS)]) as a:
            a.dul._run_loop_delay = _MOVE_RUN_LOOP_DELAY
            ident = _retrieve_identifier(study_uid, series_uid, sop_uids)
            _drive(
                node,
                "C-MOVE",
                a.send_c_move(ident, local.ae_title, STUDY_ROOT_MOVE),
                a,
                outcome,
                cancel,
            )
    finally:
        receiver.remove_listener(listener)
        receiver.store.unregister_writer(writer)
        writer.commit()
        writer.discard()
    return outcome


@dataclass(frozen=True)
class InstanceResult:
    """The outcome of sending one instance."""

    path: str
    sop_instance_uid: str
    ok: bool
    status: str  # e.g. "0x0000 (Success)" or the HTTP/STOW failure reason
    message: str = ""


def c_store_items(
    node: DimseNode,
    local: LocalAe,
    items: Sequence[Any],
    stream: Iterator[tuple[Any, Dataset | None]],
    cancel: CancelToken | None = None,
    on_result: Callable[[InstanceResult], None] | None = None,
    associations: int = 3,
) -> list[InstanceResult]:
    """C-STORE ``items`` (:class:`~namecar_viewer.pacs.send.SendItem`) on up to
    ``associations`` associations at once, taking them from ``stream`` (each item with the
    dataset to send, or None to send the file's own bytes chunk by chunk from disk, never
    decoded). Results come back in the order of ``items``."""
    from pynetdicom import _config

    if not items:
        return []
    _config.STORE_SEND_CHUNKED_DATASET = True  # a path is sent from disk in PDU-sized chunks
    classes = sorted({it.sop_class_uid for it in items})
    if len(classes) > 127:
        raise PacsError("too many different SOP classes for one association (max 127)")
    contexts = []
    for uid in classes:
        syntaxes = {it.transfer_syntax_uid for it in items if it.sop_class_uid == uid}
        syntaxes.discard("")
        contexts.append((uid, sorted(syntaxes | {ExplicitVRLittleEndian, ImplicitVRLittleEndian})))
    lock = threading.Lock()
    results: list[InstanceResult] = []
    errors: list[BaseException] = []
    n_assoc = max(1, min(associations, (len(items) + 7) // 8))

    order: dict[int, int] = {}

    def take() -> tuple[Any, Dataset | None] | None:
        with lock:
            if errors:
                return None
            return next(stream, None)

    def report(r: InstanceResult, index: int) -> None:
        with lock:
            results.append(r)
            order[id(r)] = index
        if on_result:
            on_result(r)

    def exact(a: Any, it: Any) -> bool:
        return any(
            cx.abstract_syntax == it.sop_class_uid
            and cx.transfer_syntax[0] == it.transfer_syntax_uid
            for cx in a.accepted_contexts
        )

    def worker() -> None:
        try:
            with association(node, local, contexts) as a:
                while True:
                    got = take()
                    if got is None:
                        return
                    it, ds = got
                    if cancel is not None and cancel.cancelled:
                        with lock:
                            n = sum(x.ok for x in results)
                        raise TransferCancelled(f"send cancelled after {n} instances")
                    if ds is None and (not it.part10 or not exact(a, it)):
                        from pydicom import dcmread

                        ds = dcmread(it.path)  # re-encoded by pynetdicom to what was accepted
                    sop = str(ds.SOPInstanceUID) if ds is not None else it.sop_instance_uid
                    try:
                        status = a.send_c_store(ds if ds is not None else Path(it.path))
                    except (ValueError, AttributeError, RuntimeError, OSError) as exc:
                        r = InstanceResult(it.path, sop, False, "not sent", str(exc))
                        report(r, it.index)
                        continue
                    if not status:
                        r = InstanceResult(it.path, sop, False, "no response", "connection lost")
                        report(r, it.index)
                        with lock:
                            n = sum(x.ok for x in results)
                        raise PacsError(
                            f"{node.name}: connection lost during C-STORE after {n} instances "
                            "were stored"
                        )
                    st = int(status.Status)
                    ok = st == _SUCCESS or st in _WARNING
                    report(
                        InstanceResult(
                            it.path,
                            sop,
                            ok,
                            _status_text(st),
                            str(status.get("ErrorComment", "")),
                        ),
                        it.index,
                    )
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            with lock:
                errors.append(exc)

    threads = [
        threading.Thread(target=worker, name=f"c-store-{i}", daemon=True) for i in range(n_assoc)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        first = next((e for e in errors if isinstance(e, TransferCancelled)), errors[0])
        first.results = sorted(results, key=lambda r: order[id(r)])  # type: ignore[attr-defined]
        raise first
    return sorted(results, key=lambda r: order[id(r)])
