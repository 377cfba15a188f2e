"""Provenance (P18): every generated file says, machine-readably, that it is AI-made.

Two marks, both added before an output is stored:

- the IPTC digital source type ``trainedAlgorithmicMedia`` in the image's XMP packet (PNG iTXt,
  JPEG APP1, WebP XMP chunk), for tools that do not read C2PA;
- a C2PA manifest signed with the platform's key (c2pa-python): the generator (Atelier and its
  version), the model and provider, the creation time and the action ``c2pa.created`` with that
  digital source type. No prompt and no personal data.

The key and certificate chain come from settings (local and test stacks) or SSM SecureString
parameters (deployed stacks). ``read_provenance`` answers what a file carries, for the asset record.

Thumbnails and posters carry both marks too (``mark_preview``): their own manifest names the signed
original as its parent ingredient, so the original's manifest travels inside the preview.
"""

from __future__ import annotations

import io
import json
import re
import struct
import threading
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from atelier import __version__, errors
from atelier.models.generation import Provenance
from atelier.settings import Settings

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATOR = "Atelier"
# The MIME types C2PA can carry a manifest in, among those probe() lets through.
SIGNABLE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif", "video/mp4", "video/quicktime"})

_XMP_NAMESPACE = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
    f' Iptc4xmpExt:DigitalSourceType="{DIGITAL_SOURCE_TYPE}"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()
_XMP_SOURCE_TYPE = re.compile(rb'Iptc4xmpExt:DigitalSourceType(?:="|>)([^"<]+)')
# Failures that do not make a manifest invalid: a development chain is untrusted by design.
_TOLERATED = frozenset({"signingCredential.untrusted"})


class ProvenanceError(errors.DependencyUnavailableError):
    """Signing failed (no key, a bad chain, the library refused): the output waits and is retried."""

    code = "provenance_unavailable"
    default_message = "The output could not be signed; it will be tried again."


class SigningCredentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    private_key_pem: str
    certificate_chain_pem: str  # the signing certificate first, then its issuers


# ------------------------------------------------------------------------------------------
# XMP.
# ------------------------------------------------------------------------------------------
def with_digital_source_type(content: bytes, content_type: str) -> bytes:
    """The image with an XMP packet naming it AI-made (other types are answered unchanged)."""
    if content_type == "image/png":
        return _png_with_xmp(content)
    if content_type == "image/jpeg":
        return _jpeg_with_xmp(content)
    if content_type == "image/webp":
        return _webp_with_xmp(content)
    return content


def _png_with_xmp(content: bytes) -> bytes:
    data = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + _XMP
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    header_end = 8 + 8 + 13 + 4  # signature, then the IHDR chunk (length, type, 13 bytes, CRC)
    return content[:header_end] + chunk + content[header_end:]


def _jpeg_with_xmp(content: bytes) -> bytes:
    segment = _XMP_NAMESPACE + _XMP
    app1 = b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
    offset = 2
    if content[2:4] == b"\xff\xe0":  # keep JFIF's APP0 first
        offset = 4 + struct.unpack(">H", content[4:6])[0]
    return content[:offset] + app1 + content[offset:]


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")


def _webp_with_xmp(content: bytes) -> bytes:
    from PIL import Image

    body = content[12:]
    if body[:4] == b"VP8X":
        flags = body[8] | 0x04
        chunks = body[:8] + bytes([flags]) + body[9:]
    else:
        with Image.open(io.BytesIO(content)) as image:
            width, height, alpha = image.width, image.height, "A" in image.getbands()
        flags = 0x04 | (0x10 if alpha else 0)
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        chunks = _riff_chunk(b"VP8X", header) + body
    chunks += _riff_chunk(b"XMP ", _XMP)
    return b"RIFF" + struct.pack("<I", len(chunks) + 4) + b"WEBP" + chunks


def xmp_digital_source_type(content: bytes) -> str | None:
    found = _XMP_SOURCE_TYPE.search(content)
    return found.group(1).decode("utf-8", "replace") if found else None


# ------------------------------------------------------------------------------------------
# C2PA.
# ------------------------------------------------------------------------------------------
def manifest_definition(*, title: str, model: str, provider: str, created_at: datetime) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": GENERATOR, "version": __version__}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "when": created_at.isoformat().replace("+00:00", "Z"),
                            "digitalSourceType": DIGITAL_SOURCE_TYPE,
                            "softwareAgent": {"name": f"{provider}/{model}"},
                            "parameters": {"model": model, "provider": provider},
                        }
                    ]
                },
            }
        ],
    }


class ProvenanceSigner:
    """Marks outputs: XMP first (so the manifest's hash covers it), then the signed manifest."""

    def __init__(self, credentials: Callable[[], SigningCredentials]) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()

    def mark(
        self, content: bytes, content_type: str, *, title: str, model: str, provider: str, created_at: datetime
    ) -> bytes:
        import c2pa

        if content_type not in SIGNABLE_TYPES:
            raise errors.InvalidFieldError("This kind of output cannot carry provenance.")
        marked = with_digital_source_type(content, content_type)
        credentials = self._credentials()
        definition = manifest_definition(title=title, model=model, provider=provider, created_at=created_at)
        try:
            info = c2pa.C2paSignerInfo(
                c2pa.C2paSigningAlg.ES256,
                credentials.certificate_chain_pem.encode(),
                credentials.private_key_pem.encode(),
                None,
            )
            with self._lock:  # the native signer is not shared across threads
                signer = c2pa.Signer.from_info(info)
                try:
                    builder = c2pa.Builder(json.dumps(definition), _no_thumbnail_context())
                    destination = io.BytesIO()
                    builder.sign(signer, content_type, io.BytesIO(marked), destination)
                finally:
                    signer.close()
        except c2pa.C2paError as exc:
            raise ProvenanceError() from exc
        return destination.getvalue()

    def mark_preview(
        self,
        preview: bytes,
        content_type: str,
        *,
        parent: bytes,
        parent_type: str,
        parent_title: str,
        title: str,
        actions: tuple[str, ...],
    ) -> bytes:
        """A thumbnail or poster marked as its own file: the XMP digital source type, and a manifest
        whose parent ingredient is the signed original (its manifest travels inside) and whose
        actions say what was done to it (``c2pa.opened`` on the parent, then ``actions``)."""
        import c2pa

        if content_type not in SIGNABLE_TYPES or parent_type not in SIGNABLE_TYPES:
            raise errors.InvalidFieldError("This kind of preview cannot carry provenance.")
        marked = with_digital_source_type(preview, content_type)
        credentials = self._credentials()
        definition = preview_manifest_definition(title=title, actions=actions)
        try:
            info = c2pa.C2paSignerInfo(
                c2pa.C2paSigningAlg.ES256,
                credentials.certificate_chain_pem.encode(),
                credentials.private_key_pem.encode(),
                None,
            )
            with self._lock:
                signer = c2pa.Signer.from_info(info)
                try:
                    builder = c2pa.Builder(json.dumps(definition), _no_thumbnail_context())
                    builder.add_ingredient(
                        {"title": parent_title, "relationship": "parentOf", "label": _PARENT},
                        parent_type,
                        io.BytesIO(parent),
                    )
                    destination = io.BytesIO()
                    builder.sign(signer, content_type, io.BytesIO(marked), destination)
                finally:
                    signer.close()
        except c2pa.C2paError as exc:
            raise ProvenanceError() from exc
        return destination.getvalue()


_PARENT = "parent"


def preview_manifest_definition(*, title: str, actions: tuple[str, ...]) -> dict[str, Any]:
    """A derived file's manifest: opened from its parent, then ``actions`` (the last one naming the
    digital source type, so a reader of the preview alone sees it is AI-made)."""
    steps: list[dict[str, Any]] = [{"action": "c2pa.opened", "parameters": {"ingredientIds": [_PARENT]}}]
    steps += [{"action": action} for action in actions]
    steps[-1]["digitalSourceType"] = DIGITAL_SOURCE_TYPE
    return {
        "claim_generator_info": [{"name": GENERATOR, "version": __version__}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": steps}}],
    }


def _no_thumbnail_context() -> Any:
    """A claim thumbnail would add a second (JPEG) copy of the picture to every file: left out."""
    import c2pa

    return c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})


def read_provenance(content: bytes, content_type: str, *, trust_anchors: str = "") -> Provenance:
    """What the file carries: a manifest that validates (signature, hashes; a development chain's
    untrusted certificate tolerated), an invalid one, or none; and the digital source type its XMP
    or its manifest names."""
    import c2pa

    source_type = xmp_digital_source_type(content) if content_type.startswith("image/") else None
    if content_type not in SIGNABLE_TYPES:
        return Provenance(c2pa="absent", digital_source_type=source_type)
    settings: dict[str, Any] = {"verify": {"verify_after_reading": True}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    try:
        with c2pa.Reader(content_type, io.BytesIO(content), context=c2pa.Context.from_dict(settings)) as reader:
            report = json.loads(reader.json())
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc) or "not found" in str(exc).lower():
            return Provenance(c2pa="absent", digital_source_type=source_type)
        return Provenance(c2pa="invalid", digital_source_type=source_type)
    active = report.get("manifests", {}).get(report.get("active_manifest") or "", {})
    failures = [
        status.get("code")
        for status in report.get("validation_results", {}).get("activeManifest", {}).get("failure", [])
    ]
    valid = bool(active) and all(code in _TOLERATED for code in failures)
    return Provenance(c2pa="valid" if valid else "invalid", digital_source_type=source_type or _manifest_source(active))


def _manifest_source(manifest: dict[str, Any]) -> str | None:
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                if action.get("action") == "c2pa.created" and action.get("digitalSourceType"):
                    return str(action["digitalSourceType"])
    return None


def credentials_from_settings(settings: Settings) -> SigningCredentials:
    """The key and chain given directly, else read from SSM; missing, signing cannot happen."""
    from atelier.integrations.secrets import get_secret

    key = settings.trust.c2pa_signing_key or (
        get_secret(settings.trust.c2pa_signing_key_parameter) if settings.trust.c2pa_signing_key_parameter else ""
    )
    chain = settings.trust.c2pa_certificate_chain or (
        get_secret(settings.trust.c2pa_certificate_chain_parameter)
        if settings.trust.c2pa_certificate_chain_parameter
        else ""
    )
    if not key or not chain:
        raise ProvenanceError("No signing key or certificate chain is configured.")
    return SigningCredentials(private_key_pem=key, certificate_chain_pem=chain)
