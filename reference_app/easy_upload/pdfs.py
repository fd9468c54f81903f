"""PDFs: pages copied into a fresh document, with every script, action and attachment removed.

A fresh writer leaves the catalog behind (document ``/OpenAction``, ``/AA``, the names tree with
its ``/JavaScript`` and ``/EmbeddedFiles``, ``/AcroForm``), but pages carry their own: page ``/AA``,
annotations with ``/A`` or ``/AA`` (link actions, widget keystroke/format scripts), form fields
reached through ``/Parent``, chained ``/Next`` actions. After copying, every object of the new
document is walked: additional-actions dictionaries go, an ``/A`` stays only when it jumps inside
the document (``/GoTo``) or opens an http(s)/mailto link, action dictionaries of any other type
are emptied (so no script text survives even unreferenced), and annotations that embed or play
content (file attachments, media, 3D) are dropped. Decoding stays within the job's budget.
"""

from __future__ import annotations

from typing import IO, Any

from pypdf import PdfReader, PdfWriter, apply_configuration
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from easy_upload.budget import Budget
from easy_upload.errors import ProcessingError
from easy_upload.images import Progress, spool

ACTION_TYPES = frozenset({
    "/GoTo", "/GoToR", "/GoToE", "/GoToDp", "/Launch", "/Thread", "/URI", "/Sound", "/Movie", "/Hide",
    "/Named", "/SubmitForm", "/ResetForm", "/ImportData", "/JavaScript", "/SetOCGState", "/Rendition",
    "/Trans", "/GoTo3DView", "/RichMediaExecute",
})
SAFE_URI_SCHEMES = ("http://", "https://", "mailto:")
DROPPED_ANNOTATIONS = frozenset({"/FileAttachment", "/Screen", "/Movie", "/Sound", "/RichMedia", "/3D"})
DROPPED_KEYS = ("/AA", "/OpenAction", "/JavaScript", "/EmbeddedFiles", "/AcroForm", "/Next")
READ_ERRORS = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError)


def _is_action(d: DictionaryObject) -> bool:
    return d.get("/Type") == "/Action" or str(d.get("/S", "")) in ACTION_TYPES


def _safe_action(action: Any) -> bool:
    action = action.get_object() if isinstance(action, IndirectObject) else action
    if not isinstance(action, DictionaryObject):
        return False
    kind = str(action.get("/S", ""))
    if kind == "/GoTo":
        return True
    uri = action.get("/URI")
    return kind == "/URI" and isinstance(uri, str | bytes) and _safe_uri(uri)


def _safe_uri(uri: str | bytes) -> bool:
    text = uri.decode("latin-1") if isinstance(uri, bytes) else str(uri)
    return text.strip().lower().startswith(SAFE_URI_SCHEMES)


def _clean_dict(d: DictionaryObject) -> None:
    if _is_action(d) and not _safe_action(d):
        d.clear()
        return
    for key in DROPPED_KEYS:
        d.pop(NameObject(key), None)
    if "/A" in d and not _safe_action(d["/A"]):
        del d["/A"]
    annots = d.get("/Annots")
    if isinstance(annots, ArrayObject):
        d[NameObject("/Annots")] = ArrayObject(a for a in annots if not _dropped_annotation(a))


def _dropped_annotation(ref: Any) -> bool:
    """An annotation that embeds or plays content; emptied too, since the writer writes every
    object it holds, referenced or not."""
    annot = ref.get_object() if isinstance(ref, IndirectObject) else ref
    if isinstance(annot, DictionaryObject) and str(annot.get("/Subtype", "")) in DROPPED_ANNOTATIONS:
        annot.clear()
        return True
    return False


def strip_actions(obj: Any) -> None:
    """Clean one object and the direct objects inside it (indirect ones are visited on their own)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, DictionaryObject):
            _clean_dict(item)
            stack.extend(v for v in item.values() if isinstance(v, DictionaryObject | ArrayObject))
        elif isinstance(item, ArrayObject):
            stack.extend(v for v in item if isinstance(v, DictionaryObject | ArrayObject))


def sanitize(writer: PdfWriter) -> None:
    """Strip scripts and actions from every object the writer will write."""
    for obj in writer._objects:  # the writer's object table: pages, annotations, fields, resources
        if obj is not None:
            strip_actions(obj)


def _limits(budget: Budget) -> dict[str, int]:
    cap = budget.max_stream_bytes
    return {name: cap for name in (
        "zlib_maximum_output_length", "lzw_maximum_output_length", "run_length_maximum_output_length",
        "brotli_maximum_output_length", "array_based_stream_maximum_output_length",
        "maximum_declared_stream_length", "image_maximum_buffer_size",
    )}


def _object_count(reader: PdfReader) -> int:
    return sum(len(table) for table in reader.xref.values()) + len(reader.xref_objStm)


def _copy(src: IO[bytes], size: int, budget: Budget) -> tuple[PdfWriter, int]:
    reader = PdfReader(src, strict=False, xref_stream_maximum_entries=budget.max_xref_entries)
    if reader.is_encrypted:
        raise ProcessingError("encrypted PDFs are not accepted")
    # Only the cross-reference table is read so far: refuse before any object is parsed.
    budget.check(budget.pdf_cost(size, _object_count(reader)), "this PDF")
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    return writer, len(reader.pages)


def process_pdf(src: IO[bytes], size: int, budget: Budget, progress: Progress) -> tuple[IO[bytes], int]:
    """(clean PDF, page count)."""
    try:
        with apply_configuration(None, **_limits(budget)):
            writer, pages = _copy(src, size, budget)
            progress(60, "pages copied")
            sanitize(writer)
            writer.metadata = None
            writer._ID = None  # a fixed file identifier keeps the output byte-for-byte deterministic
            out = spool()
            writer.write(out)
    except ProcessingError:
        raise
    except READ_ERRORS as exc:
        raise ProcessingError("cannot read PDF: damaged, or uses features we do not accept") from exc
    if pages == 0:
        raise ProcessingError("PDF has no pages")
    return out, pages

