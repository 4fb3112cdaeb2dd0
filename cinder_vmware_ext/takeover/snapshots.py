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
"""Managing VM snapshots of managed volumes' shadow VMs as Cinder snapshots.

Upstream finds a volume's snapshot by name on its backing (the VM snapshot
named after the Cinder snapshot), so managing one renames the VM snapshot
to the Cinder snapshot's name and keeps its original name and description
in its description; unmanaging renames it back.  Nothing is deleted.
"""

import json
import re

from cinder import exception
from cinder.volume import volume_utils
from oslo_vmware import vim_util

from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import snapshots as vm_snapshots

TAKEOVER_KEY = 'cinder_vmware_ext.takeover'
_CINDER_NAME = re.compile(r'^snapshot-[0-9a-f-]{36}$')

ALREADY_MANAGED = 'already a Cinder snapshot'
AMBIGUOUS = 'another snapshot of the same VM has this name'

PROPERTIES = {'VirtualMachine': ['name', 'config.extraConfig', 'snapshot',
                                 'config.hardware.device']}


def _invalid(existing_ref, reason):
    return exception.ManageExistingInvalidReference(
        existing_ref=existing_ref, reason=reason)


def _tree(snapshot_info):
    """List a VM's snapshots depth first.

    [(name, moref value, description, create time)] of a VM's snapshots,
    depth first (a snapshot before its children).
    """
    found = []

    def walk(trees):
        for tree in retrieve.items(trees, 'VirtualMachineSnapshotTree'):
            found.append((tree.name, vim_util.get_moref_value(tree.snapshot),
                          getattr(tree, 'description', '') or '',
                          str(getattr(tree, 'createTime', ''))))
            walk(getattr(tree, 'childSnapshotList', None))
    if snapshot_info is not None:
        walk(getattr(snapshot_info, 'rootSnapshotList', None))
    return found


def _capacity_gb(props):
    devices = retrieve.items(props.get('config.hardware.device'),
                             'VirtualDevice')
    total = sum(getattr(d, 'capacityInBytes', None) or
                int(d.capacityInKB) * 1024 for d in devices
                if d.__class__.__name__ == 'VirtualDisk')
    return -(-total // (1024 ** 3))


def _verdict(name, names, cinder_names):
    if name in cinder_names or _CINDER_NAME.match(name):
        return False, ALREADY_MANAGED
    if names.count(name) > 1:
        return False, AMBIGUOUS
    return True, None


def manageable(driver, cinder_snapshots, marker, limit, offset, sort_keys,
               sort_dirs):
    """get_manageable_snapshots: every VM snapshot of every shadow VM."""
    cinder_ids = {s['name']: s['id'] for s in cinder_snapshots or []}
    objects = retrieve.retrieve(driver.session, PROPERTIES)
    entries = []
    for value, (_ref, props) in objects.items():
        config = {o.key: o.value for o in retrieve.items(
            props.get('config.extraConfig'), 'OptionValue')}
        if not config.get(discovery.VOLUME_ID_KEY):
            continue
        tree = _tree(props.get('snapshot'))
        names = [t[0] for t in tree]
        for name, moref, description, created in tree:
            safe, reason = _verdict(name, names, cinder_ids)
            entries.append({
                'reference': {'source-name': name},
                'size': _capacity_gb(props),
                'safe_to_manage': safe,
                'reason_not_safe': reason,
                'cinder_id': cinder_ids.get(name),
                'extra_info': {'vm': props.get('name'), 'moref': moref,
                               'created': created,
                               'description': description},
                'source_reference': {'source-name': props.get('name')},
            })
    return volume_utils.paginate_entries_list(entries, marker, limit, offset,
                                              sort_keys, sort_dirs)


def _find(driver, snapshot, existing_ref):
    """(backing, (name, moref, description, created)) or invalid."""
    if not isinstance(existing_ref, dict) or len(
            set(existing_ref) & {'source-name', 'source-id'}) != 1:
        raise _invalid(existing_ref, 'give "source-name" (the VM snapshot '
                       'name) or "source-id" (its moref, e.g. snapshot-42).')
    volume = snapshot.volume
    backing = driver.volumeops.get_backing(volume['name'], volume['id'])
    if not backing:
        raise _invalid(existing_ref, 'volume %s has no backing VM in vCenter;'
                       ' nothing to take snapshots from.' % volume['id'])
    tree = _tree(retrieve.one(driver.session, backing, 'snapshot'))
    if 'source-id' in existing_ref:
        found = [t for t in tree if t[1] == existing_ref['source-id']]
    else:
        found = [t for t in tree if t[0] == existing_ref['source-name']]
    if not found:
        raise _invalid(existing_ref, 'VM %s has no snapshot %s.' % (
            volume['name'], list(existing_ref.values())[0]))
    safe, reason = _verdict(found[0][0], [t[0] for t in tree], ())
    if not safe:
        raise _invalid(existing_ref, 'snapshot %s of VM %s is %s%s.' % (
            found[0][0], volume['name'], reason,
            '; name it by moref (source-id)' if reason == AMBIGUOUS
            and 'source-id' not in existing_ref else ''))
    return backing, found[0]


def size_gb(driver, snapshot, existing_ref):
    _find(driver, snapshot, existing_ref)
    return snapshot.volume['size']


def _rename(driver, moref, name, description):
    vm_snapshots.rename(driver.session, moref, name, description)


def manage(driver, snapshot, existing_ref):
    _backing, (name, moref, description, _created) = _find(
        driver, snapshot, existing_ref)
    _rename(driver, moref, snapshot['name'], json.dumps(
        {TAKEOVER_KEY: {'name': name, 'description': description}}))
    return None


def unmanage(driver, snapshot):
    volume = snapshot.volume
    backing = driver.volumeops.get_backing(volume['name'], volume['id'])
    if not backing:
        return
    tree = _tree(retrieve.one(driver.session, backing, 'snapshot'))
    for name, moref, description, _created in tree:
        if name != snapshot['name']:
            continue
        try:
            original = json.loads(description)[TAKEOVER_KEY]
        except (ValueError, KeyError, TypeError):
            return   # made by Cinder: its name is all there is
        _rename(driver, moref, original['name'], original['description'])
