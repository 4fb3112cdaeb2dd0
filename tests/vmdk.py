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
"""Read and write the simulator's virtual-disk files from tests.

A disk ``NAME.vmdk`` on a simulator datastore is a VMware text descriptor
plus a data file: ``NAME-flat.vmdk`` (base disk, a sparse file of exactly
the capacity) or ``NAME-delta.vmdk`` (delta disk: its written, non-hole
regions override the parent's bytes).  See
tools/vcsim/simulator/vmdk_descriptor.go.

Paths here are local file paths (``Simulator.datastore_path(ds, path)``);
``datastore_root`` is needed only to follow a parent named as ``[ds] path``.
"""

import os
import re

SECTOR = 512
# Delta disks override their parent block by block (the file system's
# allocation unit); writes into a delta copy the surrounding block first.
BLOCK = 4096

_EXTENT = re.compile(r'^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)(?:\s+"(.*)")?')
_KV = re.compile(r'^([A-Za-z0-9_.]+)\s*=\s*"?(.*?)"?\s*$')


class Descriptor(object):
    """A parsed disk descriptor."""

    def __init__(self, path, fields, extents, ddb):
        self.path = path
        self.fields = fields      # CID, parentCID, createType, ...
        self.extents = extents    # [(access, sectors, type, file)]
        self.ddb = ddb            # {'ddb.uuid': ..., ...}

    @property
    def capacity(self):
        return sum(e[1] for e in self.extents) * SECTOR

    @property
    def is_delta(self):
        return bool(self.fields.get('parentFileNameHint'))

    @property
    def thin(self):
        return self.is_delta or self.ddb.get('ddb.thinProvisioned') == '1'

    @property
    def uuid(self):
        return self.ddb.get('ddb.uuid')

    @property
    def data_path(self):
        return os.path.join(os.path.dirname(self.path), self.extents[0][3])

    def parent_path(self, datastore_root=None):
        """Local path of the parent descriptor, or None for a base disk."""
        hint = self.fields.get('parentFileNameHint')
        if not hint:
            return None
        m = re.match(r'^\s*\[([^\]]*)\]\s*(.*)$', hint)
        if m:
            if datastore_root is None:
                raise ValueError('parent %r needs datastore_root' % hint)
            return os.path.join(datastore_root, m.group(1), m.group(2))
        if hint.startswith('/vmfs/volumes/'):
            if datastore_root is None:
                raise ValueError('parent %r needs datastore_root' % hint)
            return os.path.join(datastore_root, hint[len('/vmfs/volumes/'):])
        return os.path.join(os.path.dirname(self.path), hint)


def read_descriptor(path):
    """Parse the descriptor at ``path``."""
    fields, extents, ddb = {}, [], {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            m = _EXTENT.match(line)
            if m:
                extents.append((m.group(1), int(m.group(2)), m.group(3),
                                m.group(4)))
                continue
            m = _KV.match(line)
            if m:
                key, val = m.group(1), m.group(2)
                (ddb if key.startswith('ddb.') else fields)[key] = val
    return Descriptor(path, fields, extents, ddb)


def chain(path, datastore_root=None):
    """Descriptors of the disk at ``path`` then its parents."""
    out = []
    while path:
        d = read_descriptor(path)
        out.append(d)
        path = d.parent_path(datastore_root)
    return out


def _has_data(fd, offset, length):
    """Whether the file has written (non-hole) data in [offset, +length)."""
    try:
        pos = os.lseek(fd, offset, os.SEEK_DATA)
    except OSError:  # ENXIO: no data at or after offset
        return False
    return pos < offset + length


def read(path, offset, length, datastore_root=None):
    """The disk's logical bytes at ``offset``, following the delta chain."""
    layers = chain(path, datastore_root)
    fds = [os.open(d.data_path, os.O_RDONLY) for d in layers]
    try:
        out = bytearray()
        pos, end = offset, offset + length
        while pos < end:
            block_end = min((pos // BLOCK + 1) * BLOCK, end)
            n = block_end - pos
            chunk = bytes(n)
            for fd in fds:
                if _has_data(fd, pos - pos % BLOCK, BLOCK):
                    chunk = os.pread(fd, n, pos).ljust(n, b'\0')
                    break
            out += chunk
            pos = block_end
        return bytes(out)
    finally:
        for fd in fds:
            os.close(fd)


def write(path, offset, data, datastore_root=None):
    """Write ``data`` into the disk at ``offset`` (into its own data file).

    For a delta disk the surrounding blocks are first copied from the chain
    (copy-on-write), so the delta's data regions stay exact overrides.
    """
    d = read_descriptor(path)
    if offset < 0 or offset + len(data) > d.capacity:
        raise ValueError('write beyond the disk capacity')
    if d.is_delta:
        start = offset - offset % BLOCK
        end = -(-(offset + len(data)) // BLOCK) * BLOCK
        end = min(end, d.capacity)
        buf = bytearray(read(path, start, end - start, datastore_root))
        buf[offset - start:offset - start + len(data)] = data
        offset, data = start, bytes(buf)
    fd = os.open(d.data_path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def pattern(seed, length):
    """Deterministic non-zero test bytes."""
    seed = seed.encode() if isinstance(seed, str) else bytes(seed)
    out = bytearray()
    i = 0
    while len(out) < length:
        out += b'%s:%08d;' % (seed, i)
        i += 1
    return bytes(out[:length])


def allocated_bytes(path):
    """Bytes actually allocated for the disk's own data file."""
    return os.stat(read_descriptor(path).data_path).st_blocks * 512


def make_delta(parent_path, child_path):
    """Write a delta disk over a parent by hand.

    Write a delta disk over ``parent_path`` by hand (same folder), as
    ESXi lays one out: descriptor with parentCID/parentFileNameHint and an
    empty sparse ``-delta.vmdk``.  Bypasses the simulator's accounting.
    """
    parent = read_descriptor(parent_path)
    base = os.path.basename(child_path)[:-len('.vmdk')]
    sectors = parent.capacity // SECTOR
    text = (
        '# Disk DescriptorFile\nversion=1\nencoding="UTF-8"\n'
        'CID=0badc0de\nparentCID=%s\ncreateType="vmfsSparse"\n'
        'parentFileNameHint="%s"\n\n# Extent description\n'
        'RW %d VMFSSPARSE "%s-delta.vmdk"\n\n# The Disk Data Base \n#DDB\n\n'
        'ddb.uuid = "%s"\n' % (parent.fields.get('CID', 'ffffffff'),
                               os.path.basename(parent_path), sectors, base,
                               parent.uuid or ''))
    with open(child_path, 'w') as f:
        f.write(text)
    with open(os.path.join(os.path.dirname(child_path),
                           base + '-delta.vmdk'), 'wb') as f:
        f.truncate(parent.capacity)
