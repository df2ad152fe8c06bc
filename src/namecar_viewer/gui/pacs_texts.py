"""What the PACS layer says (query/retrieve, node test, retrieve progress, prefetch), in the
reader's language.

``pacs`` and ``app.prefetch`` cannot import Qt: the node-test sentences, ``PacsError`` messages
(nothing listens, association refused, HTTP failures, lost connections), invalid node settings
and the per-series retrieve messages they write are plain English, carried to the GUI as strings
(``gui.pacs.worker`` sends ``str(exc)``).  Each is listed here as its English template
(``{name}`` for a value) in the ``app`` context, so ``pyside6-lupdate`` puts it in the catalogue
and ``gui.i18n.pattern_text`` recognises a message made from it, its values translated in turn
(the DICOMweb operation named inside an HTTP failure, the error before "; retrieved files are
in ...").  DIMSE service names, AE titles, hosts, ports, URLs and status codes stay as they
are.  A message the PACS layer changes must change here too.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

PACS_PATTERNS = (
    # --- pacs.search.test_connection: the node test's sentence on success
    QT_TRANSLATE_NOOP(
        "app", "{node}: QIDO-RS answered at {url} ({n} result for a one-study probe)"
    ),
    QT_TRANSLATE_NOOP("app", "{node}: C-ECHO to {address} succeeded in {ms} ms"),
    # --- pacs.dimse: reaching the node, TLS, the association ({address} is AE@host:port)
    QT_TRANSLATE_NOOP(
        "app",
        "{node}: nothing listens at {host}:{port} (connection refused); is the server running "
        "and the port right?",
    ),
    QT_TRANSLATE_NOOP(
        "app", "{node}: no answer from {host}:{port} within {seconds} s (host down or firewall)"
    ),
    QT_TRANSLATE_NOOP("app", "{node}: cannot reach {host}:{port}: {reason}"),
    QT_TRANSLATE_NOOP("app", "{node}: TLS settings cannot be used: {reason}"),
    QT_TRANSLATE_NOOP(
        "app", "{node}: the TLS certificate of {host}:{port} is not trusted: {reason}"
    ),
    QT_TRANSLATE_NOOP("app", "{node}: TLS with {host}:{port} failed: {reason}"),
    QT_TRANSLATE_NOOP(
        "app",
        "{node}: TLS with {host}:{port} failed: {reason} (does the server require a client "
        "certificate?)",
    ),
    # the peer's reason ("Rejected Permanent, Service User: Called AE title not recognised") is
    # pynetdicom's wording of the PS3.8 terms: kept as written
    QT_TRANSLATE_NOOP("app", "{node}: association refused by {address} (our AE title {aet})"),
    QT_TRANSLATE_NOOP(
        "app", "{node}: association refused by {address}: {reason} (our AE title {aet})"
    ),
    QT_TRANSLATE_NOOP(
        "app", "{node}: association with {address} failed (aborted by the peer or timed out)"
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "{node}: association with {address} failed (aborted by the peer or timed out; check the "
        "TLS settings)",
    ),
    # --- pacs.dimse: C-ECHO, C-FIND, C-GET/C-MOVE ({what}), the C-STORE receiver
    QT_TRANSLATE_NOOP("app", "{node}: no answer to C-ECHO from {address}"),
    QT_TRANSLATE_NOOP("app", "{node}: C-ECHO failed with status {status}"),
    QT_TRANSLATE_NOOP(
        "app", "{node}: connection lost during C-FIND ({level} level) after {n} results"
    ),
    QT_TRANSLATE_NOOP("app", "{node}: C-FIND failed with status {status}"),
    QT_TRANSLATE_NOOP("app", "{node}: C-FIND failed with status {status}: {comment}"),
    QT_TRANSLATE_NOOP("app", "{what} cancelled after {n} instances; they are kept"),
    QT_TRANSLATE_NOOP(
        "app",
        "{node}: connection to {address} lost during {what} after {n} instances were received; "
        "they are kept and a new retrieve resumes with the missing ones",
    ),
    QT_TRANSLATE_NOOP("app", "{what} cancelled by the peer"),
    QT_TRANSLATE_NOOP("app", "{node}: {what} failed with status {status}"),
    QT_TRANSLATE_NOOP("app", "{node}: {what} failed with status {status}: {comment}"),
    QT_TRANSLATE_NOOP(
        "app",
        "cannot start our C-STORE receiver on {host}:{port}: {reason} (port in use? change it "
        "in the settings)",
    ),
    # --- pacs.local_store: a received instance with an unusable UID (which UID written out)
    QT_TRANSLATE_NOOP("app", "received an instance with an invalid Study Instance UID {uid}"),
    QT_TRANSLATE_NOOP("app", "received an instance with an invalid Series Instance UID {uid}"),
    QT_TRANSLATE_NOOP("app", "received an instance with an invalid SOP Instance UID {uid}"),
    # --- pacs.web: HTTP failures; {what} is one of the operations below, {hint} one of the hints
    QT_TRANSLATE_NOOP("app", "{node}: {what} at {url} failed with HTTP {code}"),
    QT_TRANSLATE_NOOP("app", "{node}: {what} at {url} failed with HTTP {code} ({hint})"),
    QT_TRANSLATE_NOOP("app", "authentication failed: check the user name/password or token"),
    QT_TRANSLATE_NOOP("app", "access denied for these credentials"),
    QT_TRANSLATE_NOOP(
        "app", "not found: check the base URL (it should end with the DICOMweb root)"
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "{node}: cannot connect to {url} during {what} (server down, wrong port or connection "
        "lost): {error}",
    ),
    QT_TRANSLATE_NOOP("app", "{node}: {what} at {url} timed out after {seconds} s"),
    QT_TRANSLATE_NOOP(
        "app",
        "{node}: connection to {url} lost during {what}: {error}; what arrived is kept and a new "
        "retrieve fetches the rest",
    ),
    QT_TRANSLATE_NOOP("app", "QIDO-RS study search"),
    QT_TRANSLATE_NOOP("app", "QIDO-RS series search"),
    QT_TRANSLATE_NOOP("app", "QIDO-RS instance search"),
    QT_TRANSLATE_NOOP("app", "WADO-RS retrieve"),
    QT_TRANSLATE_NOOP("app", "{node}: QIDO-RS answer from {url} is not a JSON list"),
    # pacs.web.stream_multipart: its {what} is always "WADO-RS", written out
    QT_TRANSLATE_NOOP("app", "WADO-RS answer is not multipart (Content-Type {content_type})"),
    QT_TRANSLATE_NOOP("app", "WADO-RS cancelled"),
    QT_TRANSLATE_NOOP("app", "WADO-RS: malformed multipart answer (no {needle})"),
    QT_TRANSLATE_NOOP("app", "WADO-RS: empty or malformed multipart answer"),
    QT_TRANSLATE_NOOP("app", "WADO-RS: the answer ended inside the headers of part {n}"),
    QT_TRANSLATE_NOOP(
        "app", "WADO-RS: the connection closed inside part {n} ({missing} bytes missing)"
    ),
    QT_TRANSLATE_NOOP("app", "WADO-RS: no boundary after part {n}"),
    QT_TRANSLATE_NOOP("app", "WADO-RS: the answer ended inside part {n}"),
    QT_TRANSLATE_NOOP("app", "WADO-RS: part {n} is too short to be a DICOM file"),
    # --- pacs.retrieve: wrong node for the method, a series' message, the report's error
    QT_TRANSLATE_NOOP("app", "WADO-RS needs a DICOMweb node, {node} is a DIMSE node"),
    QT_TRANSLATE_NOOP("app", "{method} needs a DIMSE node, {node} is a DICOMweb node"),
    QT_TRANSLATE_NOOP(
        "app", "{missing} of {total} instances did not arrive; retry fetches only those"
    ),
    # a done series' message is shown with its status ("done: 12 received", gui.pacs.qr_dialog):
    # "{received} received" alone would take any sentence ending in "received"
    QT_TRANSLATE_NOOP("app", "done: {received} received"),
    QT_TRANSLATE_NOOP("app", "done: {received} received, {skipped} already present"),
    QT_TRANSLATE_NOOP("app", "cancelled before start"),
    QT_TRANSLATE_NOOP("app", "not attempted after the error above"),
    QT_TRANSLATE_NOOP("app", "retrieve cancelled; received instances are kept"),
    QT_TRANSLATE_NOOP(
        "app", "retrieved files are in {root} but the study index refused them: {reason}"
    ),
    # the same after the retrieve's own error (before "{first}; {rest}" splits at the first ";")
    QT_TRANSLATE_NOOP(
        "app", "{error}; retrieved files are in {root} but the study index refused them: {reason}"
    ),
    # --- pacs.query: the date range of a search
    QT_TRANSLATE_NOOP("app", "start date {value} is not a date: expected YYYY-MM-DD or YYYYMMDD"),
    QT_TRANSLATE_NOOP("app", "end date {value} is not a date: expected YYYY-MM-DD or YYYYMMDD"),
    QT_TRANSLATE_NOOP("app", "start date {value} is not a valid calendar date"),
    QT_TRANSLATE_NOOP("app", "end date {value} is not a valid calendar date"),
    QT_TRANSLATE_NOOP("app", "start date {start} is after end date {end}"),
    # --- pacs.nodes: invalid node settings (the "what" of each check written out)
    QT_TRANSLATE_NOOP(
        "app",
        "node {node}: called AE title {title} is invalid: 1-16 printable ASCII characters "
        "without backslash",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "our AE title {title} is invalid: 1-16 printable ASCII characters without backslash",
    ),
    QT_TRANSLATE_NOOP("app", "node {node}: port {port} is invalid: expected an integer 1-65535"),
    QT_TRANSLATE_NOOP(
        "app", "C-STORE receiver port {port} is invalid: expected an integer 1-65535"
    ),
    QT_TRANSLATE_NOOP(
        "app", "node {node}: host {host} is invalid: expected a host name or IP address"
    ),
    QT_TRANSLATE_NOOP(
        "app", "C-STORE receiver address {host} is invalid: expected a host name or IP address"
    ),
    QT_TRANSLATE_NOOP("app", "a DIMSE node needs a name"),
    QT_TRANSLATE_NOOP("app", "a DICOMweb node needs a name"),
    QT_TRANSLATE_NOOP("app", "node {node}: timeout must be positive"),
    QT_TRANSLATE_NOOP(
        "app", "node {node}: base URL {url} is invalid: expected http(s)://host[:port]/path"
    ),
    QT_TRANSLATE_NOOP("app", "node {node}: basic authentication needs a user name"),
    QT_TRANSLATE_NOOP("app", "node {node}: bearer authentication needs a token"),
    QT_TRANSLATE_NOOP(
        "app", "node {node}: transfer syntax {value} is invalid: '*', a UID or one of {names}"
    ),
    QT_TRANSLATE_NOOP("app", "prefetch: cases ahead must be >= 0 and the budget positive"),
    QT_TRANSLATE_NOOP("app", "DIMSE node names must be unique: {names}"),
    QT_TRANSLATE_NOOP("app", "DICOMweb node names must be unique: {names}"),
    QT_TRANSLATE_NOOP("app", "{source}: invalid PACS node settings: {error}"),
    QT_TRANSLATE_NOOP("app", "{path}: cannot read PACS node settings: {error}"),
    # --- app.prefetch: a study the worklist prefetch could not complete
    QT_TRANSLATE_NOOP("app", "study {uid} incomplete"),
)


def register() -> None:
    """Let ``gui.i18n.pattern_text`` recognise these messages."""
    from namecar_viewer.gui.i18n import register_patterns

    register_patterns("app", PACS_PATTERNS)
