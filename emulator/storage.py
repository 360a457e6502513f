"""Cloud Storage JSON API, the part a source upload needs: buckets, multipart upload, download.

Object bytes are kept as files under the data folder; metadata lives in the store.
Resumable uploads (objects over 8 MiB with the official client) are not emulated.
"""

import base64
import hashlib
import json
import os
import re

from emulator.errors import ApiError, not_found


class Storage:
    def __init__(self, store, data_dir, now):
        self.store = store
        self.blob_dir = os.path.join(data_dir, "objects")
        os.makedirs(self.blob_dir, exist_ok=True)
        self.now = now

    # ---------------------------------------------------------------- buckets
    def get_bucket(self, bucket):
        with self.store.lock:
            found = self.store.buckets.get(bucket)
        if found is None:
            raise not_found(f"The specified bucket does not exist: {bucket}")
        return found

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
                      "projectNumber": query.get("project", [""])[0], "location": request.get("location", "US"),
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
        with open(os.path.join(self.blob_dir, digest), "wb") as handle:
            handle.write(data)
        with self.store.lock:
            generation = str(int(self.store.objects.get(self._key(bucket, name), {}).get("generation", "0")) + 1)
            meta = {"kind": "storage#object", "bucket": bucket, "name": name, "size": str(len(data)),
                    "contentType": content_type, "generation": generation, "metageneration": "1",
                    "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),  # nosec - GCS's own field
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

    def get_object(self, bucket, name):
        with self.store.lock:
            meta = self.store.objects.get(self._key(bucket, name))
        if meta is None:
            raise not_found(f"No such object: {bucket}/{name}")
        return {k: v for k, v in meta.items() if not k.startswith("_")}

    def upload(self, bucket, query, body, content_type):
        """``uploadType=media`` (name in the query) or ``multipart`` (JSON metadata, then the bytes)."""
        self.get_bucket(bucket)
        kind = query.get("uploadType", [""])[0]
        if kind == "media":
            return self.put(bucket, query.get("name", [""])[0], body)
        if kind != "multipart":
            raise ApiError(400, f"The emulator accepts uploadType=media or multipart, not '{kind}'.")
        parts = multipart_parts(content_type, body)
        if len(parts) != 2:
            raise ApiError(400, "A multipart upload has two parts: metadata and media.")
        metadata = json.loads(parts[0][1] or b"{}")
        media_type = parts[1][0].get("content-type", "application/octet-stream")
        return self.put(bucket, metadata.get("name") or query.get("name", [""])[0], parts[1][1],
                        metadata.get("contentType") or media_type)


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
