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
"""Promised space: what Cinder has promised on a datastore, not yet shown.

A promise is the space a volume will take on one datastore once its
backing lands: a lazily created volume (no backing yet), or a create,
clone, relocation or extend in flight.  It is written on the volume's own
row in Cinder's database (``provider_location``, which upstream's VMDK
driver leaves unused), so that every cinder-volume service of this driver
on the same vCenter sees it:

    vmware-ext-promise:<vCenter instance UUID>:<datastore ref>:<bytes>:<kind>
    vmware-ext-promise:<...>:<kind>:landing

``kind`` is ``thick`` or ``thin``.  A thick promise counts as vCenter will
count the backing once it lands: out of the datastore's free space (and
into its provisioned space); a thin one only into the provisioned space
(a thin disk takes its size from ``uncommitted``, not from free space).

``landing`` marks the promise of a backing being made right now (a first
use, a create, clone, relocation or extend): vCenter may already count its
space while the backing is not yet visible, so a placement refused while
such a promise stands waits for it to land instead of refusing on a figure
counted twice.
"""

import dataclasses
import typing

PREFIX = 'vmware-ext-promise'
THICK = 'thick'
THIN = 'thin'
LANDING = 'landing'


@dataclasses.dataclass(frozen=True)
class Promise:
    """Space a create will take on a datastore, until its backing lands.

    ``vcenter`` is the instance UUID, ``datastore`` the datastore's moref
    value, ``size_bytes`` the volume's size, ``kind`` thick or thin;
    ``landing`` while the backing is being made.
    """

    vcenter: str
    datastore: str
    size_bytes: int
    kind: str = THICK
    landing: bool = False

    @property
    def thick(self) -> bool:
        return self.kind == THICK

    def location(self) -> str:
        """The ``provider_location`` value that records this promise."""
        parts = [PREFIX, self.vcenter, self.datastore,
                 str(int(self.size_bytes)), self.kind]
        if self.landing:
            parts.append(LANDING)
        return ':'.join(parts)


def location_prefix(vcenter: str) -> str:
    """What every promise location on ``vcenter`` starts with."""
    return '%s:%s:' % (PREFIX, vcenter)


def parse(location: typing.Optional[str]) -> typing.Optional[Promise]:
    """The promise a ``provider_location`` records, or None."""
    if not location or not location.startswith(PREFIX + ':'):
        return None
    # The vCenter UUID has no ':'; a datastore ref neither.
    parts = location.split(':')
    landing = len(parts) == 6 and parts[5] == LANDING
    if len(parts) != (6 if landing else 5) or parts[4] not in (THICK, THIN):
        return None
    try:
        size = int(parts[3])
    except ValueError:
        return None
    return Promise(parts[1], parts[2], size, parts[4], landing)


def kind_of(disk_type: str) -> str:
    """thin for upstream's ``thin`` disk type, thick for thick/eagerZeroed."""
    return THIN if disk_type == 'thin' else THICK


@dataclasses.dataclass(frozen=True)
class Held:
    """Hold the promised bytes per datastore ref.

    Promised bytes per datastore ref: thick (out of free space) and all
    (into provisioned space).
    """

    thick: typing.Mapping[str, int] = dataclasses.field(default_factory=dict)
    total: typing.Mapping[str, int] = dataclasses.field(default_factory=dict)


def held(promises: typing.Iterable[Promise], counted=False) -> Held:
    """Sum promises per datastore.

    Sum promises per datastore; with ``counted``, the items are
    (Promise, how many volumes hold it).
    """
    thick, total = {}, {}
    for item in promises:
        p, count = item if counted else (item, 1)
        size = p.size_bytes * count
        total[p.datastore] = total.get(p.datastore, 0) + size
        if p.thick:
            thick[p.datastore] = thick.get(p.datastore, 0) + size
    return Held(thick, total)
