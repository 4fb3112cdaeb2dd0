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
"""What the simulated vCenter holds, as items one case can be diffed by.

``capture(sim, inv, patterns)`` reads, independently of the driver (one
PropertyCollector pass, ``driver_fixtures.Inventory.listing``, then the
files under the simulator's datastore root):

- ``('vm', name, 'template'|'vm')`` for every VM,
- ``('disk', vm name, '[ds] path')`` for every disk device of a VM,
- ``('snapshot', vm name, snapshot name)`` for every VM snapshot,
- ``('folder', parent name, name)`` for every inventory folder,
- ``('file', 'ds/relative/path')`` for every file on every datastore,
- ``('bytes', role, 'ds/relative/path')`` for every data file holding, in
  its own extent (not through a parent), the pattern written for ``role``.

A case is judged by the difference ``after - before`` (items added, items
removed), with its own names (volume and snapshot ids) replaced by role
tokens so that the difference a successful run made can be compared with
the reference run of the same flow on other objects.
"""

import collections
import os
import re

from tests.functional import driver_fixtures as df

OFFSET = 5 * 1024 * 1024
PATTERN_BYTES = 64 * 1024
UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                  r'[0-9a-f]{12}', re.I)
# A disk's unique suffix (volume-ID-0a1b2c3d.vmdk, by upstream's
# _get_disk_path-like helpers): compared as '-<hex>'.
HEX8 = re.compile(r'-[0-9a-f]{8}(?=[-.])')
# Files a VM's home holds besides its disks; they follow the VM.
DATA_SUFFIXES = ('-flat.vmdk', '-delta.vmdk', '-sesparse.vmdk')


def pattern(seed):
    return df.pattern(seed, PATTERN_BYTES)


def write_pattern(local_descriptor, seed, datastore_root):
    """Write the pattern of ``seed`` into a disk as a guest would."""
    from tests import vmdk
    data = pattern(seed)
    vmdk.write(local_descriptor, OFFSET, data, datastore_root)
    return data


# A VM's snapshot database: written by its first snapshot and kept (empty)
# by vCenter when the last one goes; part of the VM's home, deleted with it.
VM_METADATA = ('.vmsd',)


def capture(sim, inv, patterns):
    """Capture the items the simulator holds now.

    The items (a Counter) the simulator holds now; ``patterns`` maps a
    role to the bytes written for it.
    """
    items = collections.Counter()
    for values in inv.listing('VirtualMachine'):
        name = values['name']
        items[('vm', name, 'template' if values['template'] else 'vm')] += 1
        for disk in values['disks']:
            items[('disk', name, disk)] += 1
        for snap in values['snapshots']:
            items[('snapshot', name, snap)] += 1
    folders = list(inv.listing('Folder'))
    names = {f['_ref']: f['name'] for f in folders}
    for values in folders:
        parent = names.get(values['parent'], '')
        items[('folder', parent, values['name'])] += 1
    by_data = {}
    for role, data in patterns.items():
        by_data.setdefault(data, []).append(role)
    root = sim.datastore_root
    for top, _dirs, files in os.walk(root):
        for f in files:
            if f.endswith(VM_METADATA):
                continue
            local = os.path.join(top, f)
            rel = os.path.relpath(local, root)
            items[('file', rel)] += 1
            if by_data and f.endswith(DATA_SUFFIXES):
                held = _raw(local)
                for role in by_data.get(held, ()):
                    items[('bytes', role, rel)] += 1
    return items


def _raw(local):
    try:
        with open(local, 'rb') as f:
            f.seek(OFFSET)
            return f.read(PATTERN_BYTES)
    except OSError:
        return b''


class Names(object):
    """Replaces a case's own names (its Cinder ids) by role tokens."""

    def __init__(self, roles):
        # role -> its name in this case (a Cinder id, a spare VM's name)
        self.roles = dict(roles)
        self._subs = [(re.compile(re.escape(name) + '(?![0-9])'),
                       '<%s>' % role)
                      for role, name in sorted(
                          roles.items(), key=lambda r: -len(r[1]))]

    def __call__(self, text):
        if text is None:
            return None
        for regex, token in self._subs:
            text = regex.sub(token, text)
        return HEX8.sub('-<hex>', UUID.sub('<uuid>', text))

    def item(self, item):
        return tuple(self(x) if isinstance(x, str) else x for x in item)


def diff(before, after, names):
    """Return what was added and removed between two captures.

    (added, removed) between two captures, each a Counter of
    normalised items.
    """
    added = collections.Counter()
    removed = collections.Counter()
    for item, n in (after - before).items():
        added[names.item(item)] += n
    for item, n in (before - after).items():
        removed[names.item(item)] += n
    return added, removed


def bytes_roles(items):
    """{role: number of data files holding its pattern}."""
    out = collections.Counter()
    for item, n in items.items():
        if item[0] == 'bytes':
            out[item[1]] += n
    return out
