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
"""Reads behind a consistent group snapshot (extensions/groups.py): which
disk device of an instance VM a snapshot of it froze for a volume, and
that device now (the creates and removal are ``volumeops`` and
``snapshots``' round trips)."""

from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import retrieve


def _disk_devices(session, obj):
    devices = retrieve.one(session, obj, 'config.hardware.device')
    return [d for d in retrieve.items(devices, 'VirtualDevice')
            if d.__class__.__name__ == 'VirtualDisk']


def frozen_keys(session, snapshot, files):
    """Map the disk files a snapshot froze to their device keys.

    {file: device key} of the disk devices a snapshot froze whose chain
    holds one of ``files`` (each volume's disk file); one read.
    """
    found = {}
    for device in _disk_devices(session, snapshot):
        for path in vdisks.chain(device.backing):
            if path in files:
                found[path] = device.key
    return found


def device_uuids(session, vm):
    """{device key: disk backing uuid} of the VM's disks now; one read."""
    return {d.key: getattr(d.backing, 'uuid', None)
            for d in _disk_devices(session, vm)}
