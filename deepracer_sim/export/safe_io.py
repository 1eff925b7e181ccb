"""Reading folders and archives that may come from someone else, safely.

Nothing here follows a symbolic link or writes outside its target: a file is read only if it is
a regular file inside the folder (:func:`regular_file`), a folder is copied without its links
and special files (:func:`copy_tree`), and a ``.tar.gz`` is refused whole if any member is a
link, a special file, an absolute path or one that climbs out with ``..``
(:func:`archive_members`, :func:`safe_extract`).

Sizes are checked before anything is inflated: an archive is refused when its members (their
sizes from the tar headers, read one at a time, so a huge member is refused before its data is
read) add up to more than :data:`MAX_ARCHIVE_BYTES` or number more than
:data:`MAX_ARCHIVE_MEMBERS`, so nothing beyond the limit reaches the disk; a member read into
memory is first held to :data:`MAX_MEMBER_READ_BYTES`.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from pathlib import Path

from deepracer_sim.errors import ExportError
from deepracer_sim.formats.files import atomic_copy, is_temporary
from deepracer_sim.formats.problems import read_json as read_json_strict

#: DeepRacer-on-AWS's import limit for a model folder (``MAX_FOLDER_SIZE``), bytes.
MAX_FOLDER_BYTES = 1024**3
#: Largest total a ``.tar.gz`` may unpack to, bytes: the folder it holds must fit DeepRacer's
#: import limit anyway (a DEEP_CONVOLUTIONAL_NETWORK model with its logs is a few hundred MB),
#: and a crafted archive is refused before it fills the disk.
MAX_ARCHIVE_BYTES = MAX_FOLDER_BYTES
#: Most members a ``.tar.gz`` may have: a model folder holds tens to a few thousand files (one
#: sim-trace per iteration); millions of empty files would exhaust the file system's inodes.
MAX_ARCHIVE_MEMBERS = 100_000
#: Largest archive member read into memory (``model_metadata.json`` of ``model.tar.gz``; ours
#: are ~1 KB), bytes.
MAX_MEMBER_READ_BYTES = 16 * 1024**2
#: Largest frozen graph read from ``model.tar.gz`` (``agent/model.pb``: 23 MB for
#: DEEP_CONVOLUTIONAL_NETWORK_SHALLOW, 115 MB for DEEP_CONVOLUTIONAL_NETWORK), bytes.
MAX_GRAPH_READ_BYTES = 256 * 1024**2


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` resolves inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def regular_file(root: Path, rel: str | Path, what: str = "") -> Path:
    """``root/rel`` if it is a regular file inside ``root`` (not a link).

    Raises:
        ExportError: missing (``what`` ends the message), a link, not a regular file, or
            outside ``root``.
    """
    path = Path(root) / rel
    if path.is_symlink():
        raise ExportError(f"{path} is a symbolic link; links are not followed (one could point "
                          "outside the folder): replace it with the file itself")
    if not path.exists():
        raise ExportError(f"{path} is missing{what}")
    if not path.is_file() or not inside(root, path):
        raise ExportError(f"{path} is not a regular file inside {root}")
    return path


def read_json(path: Path) -> object:
    """The data of a JSON file.

    Raises:
        ExportError: invalid JSON (with the line) or not UTF-8.
    """
    return read_json_strict(path, ExportError)


def copy_tree(src: Path, dst: Path, skipped: list[str]) -> int:
    """Copy the regular files under ``src`` to ``dst``, each atomically (links and special
    files are skipped and listed in ``skipped``; the temporary files of an interrupted write,
    :func:`~deepracer_sim.formats.files.is_temporary`, are left out). Returns the number of
    files copied."""
    count = 0
    for folder, dirs, files in os.walk(src, followlinks=False):
        here = Path(folder)
        for name in list(dirs):
            if (here / name).is_symlink():
                skipped.append(str(here / name))
                dirs.remove(name)
        for name in files:
            path = here / name
            if is_temporary(name):
                continue
            if path.is_symlink() or not path.is_file():
                skipped.append(str(path))
                continue
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_copy(path, target)
            count += 1
    return count


def scan_folder(root: Path) -> tuple[list[str], int]:
    """(the links under ``root``, relative paths; the total size of its regular files, bytes),
    without following links."""
    links = []
    total = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            p = Path(folder) / name
            if p.is_symlink():
                links.append(str(p.relative_to(root)))
            elif p.is_file():
                total += p.stat().st_size
    return links, total


# --------------------------------------------------------------------------------------------
# archives

def _unsafe_member(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be extracted (None if it is a plain file or folder)."""
    name = member.name
    parts = Path(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in parts:
        return "a path that climbs out of the archive (..)"
    if member.issym() or member.islnk():
        return f"a link (to {member.linkname!r})"
    if not (member.isfile() or member.isdir()):
        return "a special file (device, fifo)"
    return None


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def _check_member(path: Path, member: tarfile.TarInfo, count: int, total: int,
                  limit: int) -> None:
    """Refuse an unsafe member, or one that takes the archive past the limits."""
    why = _unsafe_member(member)
    if why is not None:
        raise ExportError(f"{path}: member {member.name!r} is {why}; refusing the archive "
                          "(re-create it from plain files)")
    if count > MAX_ARCHIVE_MEMBERS:
        raise ExportError(f"{path}: more than {MAX_ARCHIVE_MEMBERS:,} members; refusing the "
                          "archive before unpacking anything (a model folder holds far fewer "
                          "files): re-create it from the model folder")
    if total > limit:
        raise ExportError(f"{path}: its members unpack to more than {_mib(limit)} (at "
                          f"{member.name!r}, {_mib(member.size)}); refusing the archive before "
                          "unpacking anything (DeepRacer-on-AWS imports at most 1 GiB): drop old "
                          "checkpoints or logs, or check where the archive came from")


def archive_members(path: str | os.PathLike, limit: int | None = None) -> list[tarfile.TarInfo]:
    """The members of a ``.tar.gz``, refusing any that could write outside a target folder,
    and an archive that unpacks to more than ``limit`` bytes (default
    :data:`MAX_ARCHIVE_BYTES`) or has more than :data:`MAX_ARCHIVE_MEMBERS` members. The
    headers are read one at a time: a member is refused before its data is read.

    Raises:
        ExportError: not a tar archive, a member that is a link, a special file, an absolute
            path or one with ``..`` (the message names the member), or too big an archive.
    """
    path = Path(path)
    limit = MAX_ARCHIVE_BYTES if limit is None else limit
    members: list[tarfile.TarInfo] = []
    total = 0
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                total += member.size if member.isfile() else 0
                _check_member(path, member, len(members) + 1, total, limit)
                members.append(member)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ExportError(f"{path}: not a readable tar archive ({exc})") from None
    return members


def member_name(member: tarfile.TarInfo) -> str:
    """A member's name without a leading ``./``."""
    return member.name[2:] if member.name.startswith("./") else member.name


def read_member(path: Path, name: str, limit: int = MAX_MEMBER_READ_BYTES) -> bytes | None:
    """The bytes of the plain-file member ``name`` of a checked archive (None if absent).

    Args:
        limit: the largest member read, bytes (:data:`MAX_MEMBER_READ_BYTES`, or
            :data:`MAX_GRAPH_READ_BYTES` for the car's frozen graph).

    Raises:
        ExportError: the member is larger than ``limit``.
    """
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            if member.isfile() and member_name(member) == name:
                if member.size > limit:
                    raise ExportError(f"{path}: member {name!r} is {_mib(member.size)}, more "
                                      f"than the {_mib(limit)} read of it")
                src = tar.extractfile(member)
                return src.read(limit) if src is not None else None
    return None


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> list[Path]:
    """Extract a ``.tar.gz`` into ``target`` (created), plain files and folders only.

    Every member is checked first (:func:`archive_members`: safe members, sizes within
    :data:`MAX_ARCHIVE_BYTES`), so a malicious archive writes nothing; each destination is also
    checked to resolve inside ``target``, and each file is written no longer than its header's
    size.

    Returns:
        the extracted files.

    Raises:
        ExportError: an unsafe member (nothing is written), or a destination that is a link.
    """
    members = archive_members(archive)
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    with tarfile.open(archive, "r:*") as tar:
        for member in members:
            dest = root / member.name
            if not inside(root, dest):
                raise ExportError(f"{archive}: member {member.name!r} resolves outside {root}")
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_symlink():
                raise ExportError(f"{dest} is a link; refusing to write through it")
            src = tar.extractfile(member)
            assert src is not None
            with src, open(dest, "wb") as fh:
                shutil.copyfileobj(src, fh)
            out.append(dest)
    return out
