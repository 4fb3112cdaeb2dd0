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
"""Whether a discovered disk may be managed, and why not.

Each rule gives its own reason, checked in the order an operator should
fix things; ``verdict`` returns the first that applies.
"""

import typing

from cinder_vmware_ext.takeover import records
from cinder_vmware_ext.takeover import references

NOT_A_DISK = 'not a virtual disk (no VMDK descriptor)'
ALREADY_MANAGED = 'already a Cinder volume'
OUTSIDE_POOLS = "on a datastore outside this backend's pools"
DELTA_DISK = 'a delta (snapshot) disk'
IN_SNAPSHOT_CHAIN = 'part of a snapshot chain (VM has snapshots)'
SHARED = 'shared or multi-writer disk'
POWERED_ON = 'attached to a powered-on VM'
TEMPLATE = 'attached to a VM template'
# Followed by what is wrong with it (records.DiskRecord.untrusted).
UNTRUSTED = 'an untrusted descriptor'


def _is_delta(disk):
    return (disk.is_delta or bool(disk.parents) or
            references.is_delta_name(disk.path))


def _is_shared(disk):
    return disk.sharing not in ('', 'sharingNone') or bool(disk.other_vms)


_RULES = (
    (NOT_A_DISK, lambda d: not d.is_descriptor),
    (ALREADY_MANAGED, lambda d: bool(d.cinder_id)),
    (OUTSIDE_POOLS, lambda d: not d.in_pools),
    (UNTRUSTED, lambda d: bool(d.untrusted)),
    (DELTA_DISK, _is_delta),
    (IN_SNAPSHOT_CHAIN,
     lambda d: d.in_snapshot_chain or bool(d.vm and d.vm.snapshots)),
    (SHARED, _is_shared),
    (POWERED_ON, lambda d: bool(d.vm and
                                d.vm.power_state == records.POWERED_ON)),
    (TEMPLATE, lambda d: bool(d.vm and d.vm.template)),
)


def verdict(
        disk: records.DiskRecord
) -> typing.Tuple[bool, typing.Optional[str]]:
    """(safe_to_manage, reason_not_safe) for one disk."""
    for reason, applies in _RULES:
        if applies(disk):
            return False, _worded(reason, disk)
    return True, None


def _worded(reason, disk):
    if reason == UNTRUSTED:
        return '%s (%s)' % (UNTRUSTED, disk.untrusted)
    return reason


def all_reasons(disk: records.DiskRecord) -> typing.List[str]:
    """Every rule the disk breaks (for the export's review)."""
    return [_worded(reason, disk) for reason, applies in _RULES
            if applies(disk)]


def _listed(items):
    return ', '.join(items) or None


def extra_info(disk: records.DiskRecord) -> dict:
    """Write extra_info's values out as strings.

    Cinder keeps extra_info as a dict of strings (or None), so numbers
    and lists are written out.
    """
    vm = disk.vm
    return {
        'datastore': disk.datastore,
        'path': disk.path,
        'pool': disk.pool,
        'provisioning': disk.provisioning,
        'capacity_bytes': str(disk.capacity_bytes),
        'uuid': disk.uuid,
        'vm': vm.name if vm else None,
        'vm_power_state': vm.power_state if vm else None,
        'vm_inventory_path': vm.inventory_path if vm else None,
        'snapshots': _listed(vm.snapshots) if vm else None,
        'snapshot_chain': _listed(disk.parents),
    }


def manageable_entry(disk: records.DiskRecord, reference=None) -> dict:
    """One entry of get_manageable_volumes (Cinder's contract).

    :param reference: the entry's reference when the caller lists several
        disks (``manageable_entries`` keeps references unique)
    """
    safe, reason = verdict(disk)
    return {
        'reference': reference or references.for_disk(
            disk.ds_path, disk.uuid, attached=disk.vm is not None),
        'size': disk.size_gb,
        'safe_to_manage': safe,
        'reason_not_safe': reason,
        'cinder_id': disk.cinder_id,
        'extra_info': extra_info(disk),
    }


def manageable_entries(disks) -> typing.List[dict]:
    """Entries for a listing, no reference given to two of them."""
    disks = list(disks)
    return [manageable_entry(disk, reference) for disk, reference in
            zip(disks, references.for_listing(disks))]
