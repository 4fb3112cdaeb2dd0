# Copyright (c) 2026 cinder-vmware-ext developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
"""Parsing and checking the references given to manage_existing.

Three formats are accepted:

* ``{"source-name": "[datastore] folder/file.vmdk"}``: a disk file on a
  datastore, attached to no VM or to one;
* ``{"source-name": "<vmdk path>@<vm inventory path>"}``: upstream's format,
  a disk attached to a VM;
* ``{"source-id": "<virtual disk UUID>"}``: a disk by its UUID.

Everything here is pure: it raises ``InvalidReference`` with a message a
person can act on; the driver turns it into Cinder's
``ManageExistingInvalidReference``.
"""

import collections
import dataclasses
import posixpath
import re
import typing

FILE = 'file'
ATTACHED = 'attached'
UUID = 'uuid'

_DS_PATH = re.compile(r'^\[(?P<ds>[^\[\]]+)\] ?(?P<path>.*)$')
# Files that belong to a disk without being one: data extents, change
# tracking, and VMware's snapshot (delta) disks "<name>-000001.vmdk".
_EXTENT_SUFFIXES = ('-flat.vmdk', '-delta.vmdk', '-sesparse.vmdk',
                    '-ctk.vmdk', '-rdm.vmdk', '-rdmp.vmdk')
_DELTA_NAME = re.compile(r'-\d{6}\.vmdk$')
_UUID_HEX = re.compile(r'^[0-9a-f]{32}$')


class InvalidReference(ValueError):
    """A reference that names no manageable disk; str() says why."""


@dataclasses.dataclass(frozen=True)
class DatastorePath:
    """``[datastore] folder/file.vmdk``, normalised."""

    datastore: str
    path: str

    def __str__(self):
        return '[%s] %s' % (self.datastore, self.path)

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.path)

    @property
    def file_name(self) -> str:
        return posixpath.basename(self.path)


@dataclasses.dataclass(frozen=True)
class Reference:
    """A parsed manage_existing reference."""

    kind: str
    disk_path: typing.Optional[DatastorePath] = None
    vm_path: typing.Optional[str] = None
    uuid: typing.Optional[str] = None


def is_delta_name(file_name: str) -> bool:
    """True for VMware's snapshot disk names (``disk-000001.vmdk``)."""
    return bool(_DELTA_NAME.search(file_name))


def is_extent_name(file_name: str) -> bool:
    """True for files that are a disk's data, not its descriptor."""
    lower = file_name.lower()
    return any(lower.endswith(s) for s in _EXTENT_SUFFIXES)


def parse_datastore_path(text: str) -> DatastorePath:
    """``[ds] folder/file.vmdk`` -> DatastorePath, or InvalidReference."""
    match = _DS_PATH.match((text or '').strip())
    if not match or not match.group('ds').strip():
        raise InvalidReference(
            '%r is not a datastore path; expected "[datastore] '
            'folder/file.vmdk".' % text)
    raw = match.group('path')
    if raw.startswith('/') or '\\' in raw:
        raise InvalidReference(
            '%r: the path must be relative to the datastore, with "/" '
            'separators.' % text)
    parts = raw.split('/')
    if any(part in ('..', '.') for part in parts) or '' in parts[:-1]:
        raise InvalidReference(
            '%r escapes or mangles its datastore path; give the path '
            'from the datastore root, without ".." or ".".' % text)
    path = DatastorePath(match.group('ds'), raw)
    _check_disk_file_name(path)
    return path


def _check_disk_file_name(path: DatastorePath):
    name = path.file_name
    if not name.lower().endswith('.vmdk'):
        raise InvalidReference(
            '%s is not a VMDK file; name a virtual disk descriptor '
            '(*.vmdk).' % path)
    if is_extent_name(name):
        raise InvalidReference(
            '%s is a data extent of a disk, not its descriptor; name the '
            'descriptor (%s).' % (path, _descriptor_of_extent(name)))
    if is_delta_name(name):
        raise InvalidReference(
            '%s is a snapshot (delta) disk; consolidate or delete the VM '
            "snapshots first and name the base disk." % path)


def _descriptor_of_extent(name):
    return re.sub(r'-(flat|delta|sesparse|ctk|rdmp?)\.vmdk$', '.vmdk', name,
                  flags=re.IGNORECASE)


def normalize_uuid(text: str) -> str:
    """A virtual disk UUID in any of vSphere's spellings -> 32 hex digits.

    Accepts the RFC form (``6000c298-...``) as VirtualDisk backings report
    it and the descriptor form (``60 00 C2 98 ...-...``) as
    QueryVirtualDiskUuid returns it.
    """
    digits = re.sub(r'[\s-]', '', text or '').lower()
    if not _UUID_HEX.match(digits):
        raise InvalidReference(
            '%r is not a virtual disk UUID (32 hex digits, e.g. '
            '6000c298-e690-5d21-c618-0f766e4994bc).' % text)
    return digits


def parse(existing_ref) -> Reference:
    """A manage_existing reference dict -> Reference, or InvalidReference."""
    if not isinstance(existing_ref, dict):
        raise InvalidReference('the reference must be a JSON object.')
    keys = set(existing_ref) & {'source-name', 'source-id'}
    if len(keys) != 1:
        raise InvalidReference(
            'give exactly one of "source-name" ("[datastore] path.vmdk" or '
            '"<vmdk path>@<vm inventory path>") or "source-id" (the '
            'virtual disk UUID); got keys: %s.'
            % (', '.join(sorted(existing_ref)) or 'none'))
    key = keys.pop()
    value = existing_ref[key]
    if not isinstance(value, str):
        raise InvalidReference('"%s" must be a string (%s), not %s.' % (
            key, 'the virtual disk UUID' if key == 'source-id' else
            '"[datastore] path.vmdk" or "<vmdk path>@<vm inventory path>"',
            _json_type(value)))
    if key == 'source-id':
        return Reference(UUID, uuid=normalize_uuid(value))
    name = value
    if not name.strip():
        raise InvalidReference('"source-name" is empty.')
    return _parse_source_name(name.strip())


def _json_type(value):
    for kind, name in ((bool, 'a boolean'), (int, 'a number'),
                       (float, 'a number'), (list, 'a list'),
                       (dict, 'an object'), (type(None), 'null')):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _parse_source_name(name):
    # Datastore and file names may hold "@"; a VM inventory path follows
    # the last "@" after the ".vmdk".
    head, sep, tail = name.rpartition('@')
    if sep and head.lower().endswith('.vmdk') and tail.strip():
        vm_path = tail.strip().strip('/')
        if not vm_path:
            raise InvalidReference('the VM inventory path after "@" is '
                                   'empty.')
        return Reference(ATTACHED, disk_path=parse_datastore_path(head),
                         vm_path=vm_path)
    return Reference(FILE, disk_path=parse_datastore_path(name))


def for_disk(disk_path: str, uuid: str = None, attached: bool = False):
    """The reference listed for a discovered disk.

    A loose file is named by its path; an attached disk by its UUID, which
    stays right if the VM is renamed or moved between folders.
    """
    if attached and uuid:
        return {'source-id': uuid}
    return {'source-name': disk_path}


def _uuid_key(uuid):
    try:
        return normalize_uuid(uuid) if uuid else None
    except InvalidReference:
        return uuid


def for_listing(disks) -> list:
    """References for a whole listing, in order; no two name the same entry.

    Cinder's pagination finds a marker by its reference, so a reference
    listed twice makes pages skip or repeat entries.  A UUID is used only
    where no other listed disk has it: a disk shared by two VMs has one
    UUID for two entries, and copies and clones of a disk keep their
    source's UUID.  Those are named in upstream's ``<vmdk path>@<vm
    inventory path>`` form, unique per file and VM.

    :param disks: records with ``ds_path``, ``uuid`` and ``vm`` (None or
        with ``inventory_path``)
    """
    counts = collections.Counter(_uuid_key(d.uuid) for d in disks
                                 if d.vm is not None and d.uuid)
    result = []
    for disk in disks:
        attached = disk.vm is not None
        if attached and disk.uuid and counts[_uuid_key(disk.uuid)] > 1:
            result.append({'source-name': '%s@%s' % (
                disk.ds_path, disk.vm.inventory_path.strip('/'))})
        else:
            result.append(for_disk(disk.ds_path, disk.uuid, attached))
    return result
