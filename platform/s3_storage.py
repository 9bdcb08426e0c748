"""Media in an S3-compatible bucket (``STORAGE=s3``): django-storages' S3 backend, private.

Nothing in the bucket is public: objects are written without an ACL (a bucket's default
is private; AWS buckets with ACLs disabled refuse any other), and browsers read them only
through URLs signed for a few minutes (``signed_url``) after a view checked permission.

A failed save leaves nothing behind here without any help (platform.storage does it for
local files): an S3 object appears only when its PUT completes, and a multipart upload
cut short is aborted by s3transfer and never becomes an object. Its parts may linger on
the server if the abort itself fails (a lost connection); a bucket lifecycle rule
(AbortIncompleteMultipartUpload) sweeps those.

The web server may reach the bucket at another address than browsers do (compose:
``http://storage:9000`` inside, the proxy's name outside). A signature covers the host,
so URLs for browsers are signed for ``public_endpoint_url``.
"""

import shutil
from functools import cached_property

from storages.backends.s3 import S3Storage
from storages.utils import clean_name

CHUNK = 256 * 1024


class S3MediaStorage(S3Storage):
    def __init__(self, public_endpoint_url=None, **options):
        super().__init__(**options)
        self.public_endpoint_url = public_endpoint_url or self.endpoint_url

    def key(self, name):
        return self._normalize_name(clean_name(name))

    @cached_property
    def _signing_client(self):
        # Signing is local arithmetic: this client never sends a request.
        if self.public_endpoint_url == self.endpoint_url:
            return self.connection.meta.client
        return self._create_session().client(
            "s3",
            region_name=self.region_name,
            endpoint_url=self.public_endpoint_url,
            config=self.client_config,
        )

    def signed_url(self, name, *, content_type=None, content_disposition=None):
        """A GET URL valid for ``querystring_expire`` seconds; the bucket answers Range requests itself.

        The response headers are fixed by the signature (S3's response-content-* overrides),
        so a download keeps its name and type whatever the object was stored with.
        """
        params = {"Bucket": self.bucket_name, "Key": self.key(name)}
        if content_type:
            params["ResponseContentType"] = content_type
        if content_disposition:
            params["ResponseContentDisposition"] = content_disposition
        return self._signing_client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self.querystring_expire
        )

    def iter_chunks(self, name, chunk_size=CHUNK):
        """The object's bytes as they arrive from the bucket, never held whole (zip downloads)."""
        body = self.bucket.Object(self.key(name)).get()["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def download(self, name, target):
        """Copy the object into a local file (a worker's scratch folder)."""
        body = self.bucket.Object(self.key(name)).get()["Body"]
        try:
            with open(target, "wb") as out:
                shutil.copyfileobj(body, out, 1024 * 1024)
        finally:
            body.close()
        return target
