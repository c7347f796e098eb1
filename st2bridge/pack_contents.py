"""A pack's files as the API shows them (GET /packs/views/files/{ref},
/packs/views/file/{ref}/{path}, /actions/views/entry_point/{ref}): read from the pack's
directory on this server, and from inside it only.

A file is served only when the pack lists it (the loader's `files`: no .git, no __pycache__,
no symlink leading out) and its path, checked again now, is a plain relative path (no "..",
not absolute, not "./x" or "x//y": StackStorm's normalisation test) that resolves, symlinks
followed, inside the pack's directory: a symlink changed since the pack was registered
reaches no further than one registered then.
"""

import codecs
import mimetypes
import posixpath
from email.utils import formatdate
from pathlib import Path

from .errors import InvalidInput, NotFound
from .pack_files import inside

MAX_FILE_SIZE = 500 * 1000  # StackStorm's: larger files are left out of lists, refused alone
TEXT_PROBE = 1024  # bytes read to tell text from binary, as StackStorm does
# When the system's MIME types know no better (StackStorm's fallbacks).
FALLBACK_TYPES = {
    ".yaml": "application/x-yaml",
    ".yml": "application/x-yaml",
    ".py": "application/x-python",
}


def pack_root(pack):
    """The pack's directory on this server, resolved; NotFound when it has none."""
    root = Path(pack.path).resolve() if pack.path else None
    if root is None or not root.is_dir():
        raise NotFound(f'Pack "{pack.ref}" has no files on this server')
    return root


def pack_file(pack, file_path):
    """The path of `file_path` in the pack, checked (see the module's docstring): InvalidInput
    for a path that is not a plain relative one or leads out of the pack, NotFound for a
    file the pack does not list or that is gone."""
    if not file_path:
        raise InvalidInput("Missing file path")
    if posixpath.normpath("/" + file_path).lstrip("/") != file_path or "\\" in file_path:
        raise InvalidInput(f'Invalid file path: "{file_path}"')
    root = pack_root(pack)
    if file_path not in pack.files:
        raise NotFound(f'File "{file_path}" not found')
    path = root / file_path
    if not inside(path, root):
        raise InvalidInput(f'Invalid file path: "{file_path}" resolves outside the pack directory')
    if not path.is_file():
        raise NotFound(f'File "{file_path}" not found')
    return path.resolve()


def file_view(pack, file_path, if_none_match=None, if_modified_since=None):
    """(content or None when unchanged, content type, ETag, Last-Modified) of one file, as
    StackStorm answers it: the ETag is the modification time, and a matching If-None-Match
    (or else If-Modified-Since) means "not modified"."""
    path = pack_file(pack, file_path)
    stat = path.stat()
    etag, modified = repr(stat.st_mtime), formatdate(stat.st_mtime, usegmt=True)
    unchanged = if_none_match == etag if if_none_match else if_modified_since == modified
    if unchanged:
        return None, None, etag, modified
    if stat.st_size > MAX_FILE_SIZE:
        raise InvalidInput(
            f"File {file_path} exceeds maximum allowed file size ({MAX_FILE_SIZE} bytes)"
        )
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.read_bytes(), content_type, etag, modified


def text_files(pack):
    """[{file_path, content}] of the pack's text files (StackStorm's /packs/views/files):
    binary ones (a NUL or a byte-order mark near the start) and large ones left out, as
    are files gone or leading out of the pack since it was registered."""
    root = pack_root(pack)
    found = []
    for file_path in pack.files:
        path = root / file_path
        if not inside(path, root) or not path.is_file():
            continue
        if path.stat().st_size > MAX_FILE_SIZE:
            continue
        content = path.read_bytes()
        head = content[:TEXT_PROBE]
        if b"\0" in head or codecs.BOM_UTF8 in head:
            continue
        found.append({"file_path": file_path, "content": content.decode("utf-8", "replace")})
    return found


def entry_point(pack, action):
    """(text, content type) of the action's entry point, from the pack's actions directory.
    An action with none (core.local, ...) has an empty one: StackStorm answers 404 there,
    which st2web, asking for it whenever it shows an action, reports as an error."""
    if not action.entry_point:
        return "", "text/plain"
    path = pack_file(pack, f"actions/{action.entry_point}")
    content_type = (
        mimetypes.guess_type(path.name)[0]
        or FALLBACK_TYPES.get(path.suffix.lower())
        or "text/plain"
    )
    return path.read_text("utf-8", "replace"), content_type
