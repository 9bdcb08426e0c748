from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile


def files_under(folder):
    """Every file below ``folder``, as relative paths: what a failed upload must not leave."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def upload(client, path, name=None, **fields):
    """POST a file to the upload API, optionally under another file name."""
    data = Path(path).read_bytes()
    file = SimpleUploadedFile(name or Path(path).name, data)
    return client.post("/api/tracks/", {"file": file, **fields}, format="multipart")
