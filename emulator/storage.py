"""Cloud Storage JSON API, the part a source upload needs: buckets, multipart upload, download.

Object bytes are kept as files under the data folder; metadata lives in the store. Uploads take
the three forms of the JSON API: ``media``, ``multipart``, and ``resumable`` (a session started by a
POST, then PUT chunks with ``Content-Range``, answered 308 with ``Range`` until the last), which the
official client uses above 8 MiB (cloud.google.com/storage/docs/performing-resumable-uploads).
"""

import base64
import hashlib
import json
import os
import re
import tempfile
import threading
import uuid

import google_crc32c

from emulator.errors import ApiError, not_found, or_not_found
from emulator.iam import project_number
from emulator.wire import Raw

CONTENT_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")


class Storage:
    def __init__(self, store, data_dir, now):
        self.store = store
        self.blob_dir = os.path.join(data_dir, "objects")
        os.makedirs(self.blob_dir, exist_ok=True)
        self.now = now
        self.sessions = {}  # upload_id -> {"bucket", "name", "content_type", "data"}
        self.sessions_lock = threading.Lock()

    # ---------------------------------------------------------------- buckets
    def get_bucket(self, bucket):
        with self.store.lock:
            return or_not_found(self.store.buckets.get(bucket), f"The specified bucket does not exist: {bucket}")

    def list_buckets(self, query):
        """The buckets of ``project`` (an ID or number), by name, whose names start with ``prefix``."""
        number = project_number(query.get("project", [""])[0])
        prefix = query.get("prefix", [""])[0]
        with self.store.lock:
            found = [b for n, b in sorted(self.store.buckets.items())
                     if n.startswith(prefix) and project_number(b.get("projectNumber", "")) == number]
        return {"kind": "storage#buckets", "items": found} if found else {"kind": "storage#buckets"}

    def create_bucket(self, query, body):
        request = json.loads(body or b"{}")
        name = request.get("name", "")
        if not name:
            raise ApiError(400, "Bucket name is required.")
        with self.store.lock:
            if name in self.store.buckets:
                raise ApiError(409, "Your previous request to create the named bucket succeeded and you already own "
                                    "it.", "ALREADY_EXISTS")
            bucket = {"kind": "storage#bucket", "id": name, "name": name, "timeCreated": self.now(),
                      "projectNumber": project_number(query.get("project", [""])[0]), "location": request.get("location", "US"),
                      "storageClass": "STANDARD"}
            self.store.buckets[name] = bucket
            self.store.save()
        return bucket

    # ---------------------------------------------------------------- objects
    def _key(self, bucket, name):
        return f"{bucket}/{name}"

    def put(self, bucket, name, data, content_type="application/octet-stream"):
        """Store an object (also used by the emulated Cloud Build for its logs)."""
        digest = hashlib.sha256(data).hexdigest()
        # Written aside and renamed: the same content uploaded twice at once (ten services of one source
        # deployed with forks 10) must never truncate the blob a build is reading ("empty file").
        handle, temporary = tempfile.mkstemp(dir=self.blob_dir, prefix=f".{digest}.")
        with os.fdopen(handle, "wb") as blob:
            blob.write(data)
        os.replace(temporary, os.path.join(self.blob_dir, digest))
        with self.store.lock:
            generation = str(int(self.store.objects.get(self._key(bucket, name), {}).get("generation", "0")) + 1)
            meta = {"kind": "storage#object", "bucket": bucket, "name": name, "size": str(len(data)),
                    "contentType": content_type, "generation": generation, "metageneration": "1",
                    "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),  # nosec - GCS's own field
                    # CRC32C, big-endian, base64: the official client checks it after a resumable upload.
                    "crc32c": base64.b64encode(google_crc32c.value(data).to_bytes(4, "big")).decode(),
                    "timeCreated": self.now(), "updated": self.now(), "_sha256": digest,
                    "id": f"{bucket}/{name}/{generation}"}
            self.store.objects[self._key(bucket, name)] = meta
            self.store.save()
        return {k: v for k, v in meta.items() if not k.startswith("_")}

    def read(self, bucket, name):
        with self.store.lock:
            meta = self.store.objects.get(self._key(bucket, name))
        if meta is None:
            raise not_found(f"No such object: {bucket}/{name}")
        with open(os.path.join(self.blob_dir, meta["_sha256"]), "rb") as handle:
            return handle.read()

    def download(self, bucket, name, headers):
        """An object's bytes; a ``Range: bytes=A-B`` request gets 206 with ``Content-Range``, as GCS answers."""
        data = self.read(bucket, name)
        meta = self.get_object(bucket, name)
        checksums = [("x-goog-hash", f"crc32c={meta['crc32c']},md5={meta['md5Hash']}")] if "crc32c" in meta else []
        match = re.match(r"^bytes=(\d*)-(\d*)$", headers.get("range", ""))
        if not match or not data:
            return Raw(200, data, [("Content-Type", "application/octet-stream")] + checksums)
        if match.group(1):
            start, end = int(match.group(1)), int(match.group(2) or len(data) - 1)
        else:
            start, end = max(len(data) - int(match.group(2) or 0), 0), len(data) - 1
        end = min(end, len(data) - 1)
        return Raw(206, data[start:end + 1], [("Content-Type", "application/octet-stream"),
                                              ("Content-Range", f"bytes {start}-{end}/{len(data)}")])

    def get_object(self, bucket, name):
        with self.store.lock:
            meta = self.store.objects.get(self._key(bucket, name))
        if meta is None:
            raise not_found(f"No such object: {bucket}/{name}")
        return {k: v for k, v in meta.items() if not k.startswith("_")}

    def upload(self, bucket, query, body, headers):
        """``uploadType=media`` (name in the query), ``multipart`` (JSON metadata, then the bytes), or
        ``resumable`` (JSON metadata; answers the session URI in ``Location``)."""
        self.get_bucket(bucket)
        kind = query.get("uploadType", [""])[0]
        if kind == "media":
            return self.put(bucket, query.get("name", [""])[0], body)
        if kind == "resumable":
            metadata = json.loads(body or b"{}")
            upload_id = uuid.uuid4().hex
            with self.sessions_lock:
                self.sessions[upload_id] = {
                    "bucket": bucket, "name": metadata.get("name") or query.get("name", [""])[0], "data": b"",
                    "content_type": metadata.get("contentType") or headers.get("x-upload-content-type")
                    or "application/octet-stream"}
            location = (f"http://{headers.get('host', '127.0.0.1')}/upload/storage/v1/b/{bucket}/o"
                        f"?uploadType=resumable&upload_id={upload_id}")
            return Raw(200, {}, [("Location", location), ("Content-Type", "application/json")])
        if kind != "multipart":
            raise ApiError(400, f"The emulator accepts uploadType=media, multipart or resumable, not '{kind}'.")
        parts = multipart_parts(headers.get("content-type", ""), body)
        if len(parts) != 2:
            raise ApiError(400, "A multipart upload has two parts: metadata and media.")
        metadata = json.loads(parts[0][1] or b"{}")
        media_type = parts[1][0].get("content-type", "application/octet-stream")
        return self.put(bucket, metadata.get("name") or query.get("name", [""])[0], parts[1][1],
                        metadata.get("contentType") or media_type)

    def upload_chunk(self, bucket, query, body, headers):
        """One PUT of a resumable session: 308 with the ``Range`` received so far, or the object when complete."""
        upload_id = query.get("upload_id", [""])[0]
        match = CONTENT_RANGE.match(headers.get("content-range", "") or f"bytes */{len(body)}")
        with self.sessions_lock:
            session = self.sessions.get(upload_id)
            if session is None or session["bucket"] != bucket:
                raise not_found(f"No upload session {upload_id}.")
            if not match:
                raise ApiError(400, f"Bad Content-Range: {headers.get('content-range')!r}.")
            if match.group(1) is not None:
                if int(match.group(1)) != len(session["data"]):
                    raise ApiError(400, f"Chunk starts at {match.group(1)}, expected {len(session['data'])}.")
                session["data"] += body
            total = match.group(3)
            done = total != "*" and len(session["data"]) >= int(total)
            if done:
                del self.sessions[upload_id]
        if not done:
            received = len(session["data"])
            return Raw(308, b"", [("Range", f"bytes=0-{received - 1}")] if received else [])
        return self.put(bucket, session["name"], session["data"], session["content_type"])


def multipart_parts(content_type, body):
    """The (headers, bytes) parts of a multipart/related body, split on its boundary byte for byte.

    Written out rather than with the email package, which is made for text and may touch binary media.
    """
    match = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not match:
        raise ApiError(400, "A multipart upload needs a boundary in its Content-Type.")
    delimiter = b"--" + match.group(1).encode()
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _sep, payload = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _colon, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        parts.append((headers, payload[:-2] if payload.endswith(b"\r\n") else payload))
    return parts
