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
"""What Cinder's estate in vCenter leaks, judged from plain facts (pure).

``cinder-vmware audit`` gathers the facts (every VM with its disks and
snapshots, Cinder's volumes and snapshots, the files under upstream's
temporary image folder) and ``findings`` says what is left over and
whether ``--clean`` may remove it: only what Cinder made, and never what
anything still references (a disk file another VM or a snapshot uses).
"""

import dataclasses
import json
import re
import typing

UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
SNAPSHOT_NAME = re.compile(r'^snapshot-(%s)$' % UUID)
TEMP_SNAPSHOT_NAME = re.compile(r'^temp-snapshot-(%s)$' % UUID)
# Upstream's temporary backings (image upload, attached-volume snapshots
# and clones) are named by a bare UUID.
TEMP_BACKING_NAME = re.compile(r'^%s$' % UUID)
# The staging VM a backup restore writes into (extensions/restore.py).
RESTORE_STAGING_NAME = re.compile(r'^restore-(%s)$' % UUID)
TEMP_IMAGE_FOLDER = 'cinder_temp'

SHADOW_VM = 'shadow-vm'
MISSING_BACKING = 'missing-backing'
TEMP_SNAPSHOT = 'temporary-snapshot'
TEMP_CLONE = 'temporary-clone'
TEMPLATE_SNAPSHOT = 'template-snapshot'
ORPHAN_SNAPSHOT = 'orphan-snapshot'
UPLOAD_LEFTOVER = 'upload-leftover'
TAKEOVER_LEFTOVER = 'takeover-leftover'
RESTORE_STAGING = 'restore-staging'

DESTROY_VM = 'destroy-vm'
REMOVE_SNAPSHOT = 'remove-snapshot'
DELETE_DISK = 'delete-disk'

# Cinder statuses of volumes whose flow may still use their leftovers.
BUSY = ('creating', 'deleting', 'managing', 'migrating', 'downloading',
        'uploading', 'retyping', 'extending', 'reserved', 'attaching',
        'detaching', 'backing-up', 'restoring-backup')
FAILED_MANAGE = ('error_managing', 'error_managing_deleting')


@dataclasses.dataclass(frozen=True)
class SnapshotFacts:
    name: str
    ref: str
    files: tuple = ()          # the disk files it froze


@dataclasses.dataclass(frozen=True)
class VmFacts:
    ref: str
    name: str
    template: bool = False
    volume_id: typing.Optional[str] = None
    takeover_origin: typing.Optional[str] = None   # JSON, see adopt.py
    disk_files: tuple = ()     # its disks' files, delta chains included
    snapshots: tuple = ()      # SnapshotFacts
    # One of the driver's cached image backings (its name says so:
    # extensions/image_cache.is_cache_name): Cinder's own, never a leak.
    image_cache: bool = False


@dataclasses.dataclass(frozen=True)
class VolumeFacts:
    status: str
    attach_status: str = 'detached'
    managed: bool = False      # taken over (it had a disk when it came)
    ours: bool = True          # on the audited backend (host@backend)


@dataclasses.dataclass(frozen=True)
class Finding:
    kind: str
    name: str                  # VM, snapshot or file
    ref: str                   # moref value or datastore path
    detail: str
    action: typing.Optional[str] = None     # what --clean does, or None
    reason: str = ''           # why --clean leaves it
    vm: str = ''               # the VM a snapshot belongs to


def _referenced(vms, exclude_vm=None, exclude_snapshot=None):
    """Every disk file some VM or snapshot uses, but the excluded ones."""
    files = set()
    for vm in vms:
        if vm.ref != exclude_vm:
            files.update(vm.disk_files)
        for snap in vm.snapshots:
            if snap.ref != exclude_snapshot and vm.ref != exclude_vm:
                files.update(snap.files)
    return files


def _vm_files(vm):
    files = set(vm.disk_files)
    for snap in vm.snapshots:
        files.update(snap.files)
    return files


def _destroyable(vm, vms, action=DESTROY_VM):
    """Decide whether a VM may be destroyed, with the reason.

    (action, reason): a VM is destroyed (its disks with it) only when
    no other VM or snapshot uses any of its files.
    """
    shared = _vm_files(vm) & _referenced(vms, exclude_vm=vm.ref)
    if shared:
        return None, 'its disk %s is used elsewhere' % sorted(shared)[0]
    return action, ''


def _live(volumes, volume_id):
    return volume_id in volumes and volumes[volume_id].status != 'deleted'


def _takeover(vm, volumes, vms):
    volume = volumes.get(vm.volume_id)
    if volume is not None and volume.status not in FAILED_MANAGE:
        return None
    try:
        origin = json.loads(vm.takeover_origin)
    except ValueError:
        origin = {}
    copy = origin.get('copied_to')
    held = [f for f in vm.disk_files if f != copy]
    detail = 'shadow VM of a takeover of %s, volume %s %s' % (
        origin.get('path', '?'), vm.volume_id,
        volume.status if volume else 'gone')
    if held:
        return Finding(TAKEOVER_LEFTOVER, vm.name, vm.ref, detail,
                       reason='it still holds the taken-over disk %s; '
                              'detach it (or run takeover release) first'
                       % held[0])
    action, reason = _destroyable(vm, vms)
    return Finding(TAKEOVER_LEFTOVER, vm.name, vm.ref, detail, action,
                   reason)


def _of_vm(vm, volumes, snapshots, vms):
    """Findings about one VM: itself and its snapshots."""
    if vm.image_cache:
        # Its cinder.volume.id is the cache's own id, not a volume's, and
        # its base snapshot is what linked clones read: the driver evicts
        # it (doc/image-cache.md), the audit leaves it alone.
        return []
    found = []
    if vm.takeover_origin:
        finding = _takeover(vm, volumes, vms)
        if finding:
            found.append(finding)
    elif vm.volume_id and not vm.template and \
            not _live(volumes, vm.volume_id):
        action, reason = _destroyable(vm, vms)
        found.append(Finding(SHADOW_VM, vm.name, vm.ref,
                             'backing of volume %s, which Cinder does not '
                             'have' % vm.volume_id, action, reason))
    match = SNAPSHOT_NAME.match(vm.name)
    if vm.template and match and match.group(1) not in snapshots:
        action, reason = _destroyable(vm, vms)
        found.append(Finding(TEMPLATE_SNAPSHOT, vm.name, vm.ref,
                             'template of snapshot %s, which Cinder does '
                             'not have' % match.group(1), action, reason))
    if not vm.volume_id and not vm.template and \
            TEMP_BACKING_NAME.match(vm.name):
        action, reason = _destroyable(vm, vms)
        found.append(Finding(TEMP_CLONE, vm.name, vm.ref,
                             'temporary backing (named by a bare UUID)',
                             action, reason))
    staging = RESTORE_STAGING_NAME.match(vm.name)
    if staging and not vm.volume_id and not vm.template:
        found.append(_restore_staging(vm, staging.group(1), volumes, vms))
    for snap in vm.snapshots:
        found.extend(_of_snapshot(vm, snap, volumes, snapshots, vms))
    return found


def _restore_staging(vm, volume_id, volumes, vms):
    """A failed restore's staging VM: it holds at most a backup's copy."""
    volume = volumes.get(volume_id)
    status = volume.status if volume else 'gone'
    detail = ('staging VM of a backup restore into volume %s (%s)'
              % (volume_id, status))
    if status in BUSY:
        return Finding(RESTORE_STAGING, vm.name, vm.ref, detail,
                       reason='volume %s is %s' % (volume_id, status))
    action, reason = _destroyable(vm, vms)
    return Finding(RESTORE_STAGING, vm.name, vm.ref, detail, action, reason)


def _of_snapshot(vm, snap, volumes, snapshots, vms):
    temp = TEMP_SNAPSHOT_NAME.match(snap.name)
    cinder = SNAPSHOT_NAME.match(snap.name)
    if temp:
        clone = volumes.get(temp.group(1))
        if clone is not None and clone.status != 'deleted' and (
                clone.status in BUSY or clone.status in ('available',
                                                         'in-use')):
            return []   # a linked clone's: removed with the clone
        kind, detail = TEMP_SNAPSHOT, (
            'temporary snapshot of linked clone %s, which is %s' % (
                temp.group(1), clone.status if clone else 'gone'))
    elif cinder and vm.volume_id and cinder.group(1) not in snapshots:
        kind, detail = ORPHAN_SNAPSHOT, (
            'snapshot %s of volume %s, which Cinder does not have' % (
                cinder.group(1), vm.volume_id))
    else:
        return []
    used = set(snap.files) & _referenced(
        [v for v in vms if v.ref != vm.ref], exclude_snapshot=snap.ref)
    if used:
        return [Finding(kind, snap.name, snap.ref, detail, None,
                        'linked clones use its disk %s' % sorted(used)[0],
                        vm.name)]
    return [Finding(kind, snap.name, snap.ref, detail, REMOVE_SNAPSHOT, '',
                    vm.name)]


def _missing_backings(vms, volumes):
    """List the volumes that must have a backing and have none.

    Volumes that must have a backing and have none.  A detached volume
    without one is normal with lazy create (made at first attach).
    """
    backed = {vm.volume_id for vm in vms if vm.volume_id and not vm.template}
    found = []
    for volume_id, volume in sorted(volumes.items()):
        if volume_id in backed or not volume.ours or \
                volume.status in ('deleted', 'error') or \
                volume.status in BUSY:
            continue
        if volume.attach_status == 'attached' or volume.managed:
            why = 'attached' if volume.attach_status == 'attached' else \
                'taken over from an existing disk'
            found.append(Finding(
                MISSING_BACKING, volume_id, volume_id,
                'Cinder volume (%s, %s) has no backing VM in vCenter'
                % (volume.status, why),
                reason='a Cinder record: fix it through Cinder'))
    return found


def _uploads(temp_files, vms):
    used = _referenced(vms)
    found = []
    for path in sorted(temp_files):
        if path in used:
            found.append(Finding(UPLOAD_LEFTOVER, path, path,
                                 'file in %s/' % TEMP_IMAGE_FOLDER,
                                 reason='a VM uses it'))
        else:
            found.append(Finding(UPLOAD_LEFTOVER, path, path,
                                 'file in %s/' % TEMP_IMAGE_FOLDER,
                                 DELETE_DISK))
    return found


def findings(vms, volumes, snapshots, temp_files=()):
    """Every leftover, in a stable order.

    :param vms: [VmFacts] of every VM and template in vCenter
    :param volumes: {volume id: VolumeFacts} of Cinder's volumes (all
        projects and backends; deleted ones may be left out).  Any of them
        keeps its backing from being a leftover; only those of the audited
        backend (``ours``) are reported when their backing is missing
    :param snapshots: set of ids of Cinder's (not deleted) snapshots
    :param temp_files: datastore paths of the VMDKs under cinder_temp/
    """
    found = []
    for vm in sorted(vms, key=lambda v: (v.name, v.ref)):
        found.extend(_of_vm(vm, volumes, snapshots, vms))
    found.extend(_missing_backings(vms, volumes))
    found.extend(_uploads(temp_files, vms))
    return found
