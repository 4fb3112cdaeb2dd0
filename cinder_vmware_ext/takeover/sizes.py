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
"""Taken-over disks whose size is not a whole GiB: their true size.

A disk of 2.5 GiB is managed as a 3 GiB volume and is not grown (managing
never changes a disk); its true size is marked on the shadow VM.  The
reads here tell upstream's flows that size (``extensions/takeover_size.py``).
"""

from oslo_utils import units

from cinder_vmware_ext.takeover import adopt
from cinder_vmware_ext.vsphere import retrieve

MARKERS = (adopt.ORIGIN_KEY, adopt.DISK_BYTES_KEY)


def disk_bytes(devices):
    """Capacity in bytes of the first VirtualDisk of ``devices``, or None."""
    for device in retrieve.items(devices, 'VirtualDevice'):
        if device.__class__.__name__ == 'VirtualDisk':
            return int(getattr(device, 'capacityInBytes', None) or
                       int(device.capacityInKB) * units.Ki)
    return None


def markers_of(extra_config):
    options = retrieve.items(extra_config, 'OptionValue')
    return {o.key: o.value for o in options
            if o.key in MARKERS and o.value}


def shortfall(session, backing, size_gb):
    """Bytes the backing's disk lacks to hold ``size_gb`` GiB.

    0 when it is big enough, has no disk, or is a taken-over disk that is
    smaller on purpose (its true size is marked on the backing).
    """
    props = read(session, backing,
                 ['config.hardware.device', 'config.extraConfig'])
    if adopt.DISK_BYTES_KEY in markers_of(props.get('config.extraConfig')):
        return 0
    size = disk_bytes(props.get('config.hardware.device'))
    return max(0, size_gb * units.Gi - size) if size else 0


def read(session, moref, properties):
    return retrieve.several(session, moref, properties)
