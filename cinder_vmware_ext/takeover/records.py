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
"""Plain data describing the disks a takeover looks at.

Filled by ``discovery`` from one pass over vCenter; read by the pure
``safety``, ``export_format`` and ``plan`` modules.
"""

import dataclasses
import typing

GiB = 1024 ** 3

POWERED_ON = 'poweredOn'
POWERED_OFF = 'poweredOff'


@dataclasses.dataclass(frozen=True)
class AttachedVm:
    """The VM a disk is attached to, and how (to re-attach it later)."""

    ref: str
    name: str
    power_state: str = POWERED_OFF
    inventory_path: str = ''
    snapshots: typing.Tuple[str, ...] = ()
    cinder_volume_id: typing.Optional[str] = None   # VM is a Cinder backing
    device_key: int = 0
    controller_key: int = 0
    unit_number: int = 0
    template: bool = False


@dataclasses.dataclass(frozen=True)
class DiskRecord:
    """One VMDK as seen by discovery."""

    datastore: str
    path: str                       # relative to the datastore root
    datastore_ref: str = ''
    capacity_bytes: int = 0
    thin: typing.Optional[bool] = None
    is_descriptor: bool = True      # False: a .vmdk that is no disk
    is_delta: bool = False          # its own file is a snapshot delta
    in_snapshot_chain: bool = False  # a VM snapshot depends on it
    parents: typing.Tuple[str, ...] = ()   # delta chain below it
    uuid: typing.Optional[str] = None
    sharing: str = 'sharingNone'
    vm: typing.Optional[AttachedVm] = None
    other_vms: typing.Tuple[str, ...] = ()  # further VMs using the file
    cinder_id: typing.Optional[str] = None
    pool: typing.Optional[str] = None
    in_pools: bool = True
    backend_host: typing.Optional[str] = None  # host@backend#pool
    # Why its descriptor is not to be trusted (an extent that is no plain
    # file beside it, or another disk's), or None.
    untrusted: typing.Optional[str] = None

    @property
    def ds_path(self) -> str:
        return '[%s] %s' % (self.datastore, self.path)

    @property
    def provisioning(self) -> str:
        if self.thin is None:
            return 'unknown'
        return 'thin' if self.thin else 'thick'

    @property
    def size_gb(self) -> int:
        """Whole GiB, rounded up (Cinder's volume size)."""
        return -(-int(self.capacity_bytes) // GiB)
