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
"""Choosing a datastore of a pool for a new or moved backing.

Policy (``vmware_placement_policy``):

* ``best_fit`` (default): among the pool's eligible datastores with room
  for the volume, take the one with the LEAST free space left after it.
  This keeps large contiguous free space for large volumes (so the
  pool's ``largest_datastore_free_gb`` shrinks as late as possible).
* ``most_free``: take the one with the most free space, spreading load
  and leaving headroom for thin disks to grow.

Ties go to the datastore reachable from more of the pool's hosts, then to
the name.  Space promised (``core/promises.py``: lazily created volumes,
creates in flight in any service) is held back, so concurrent creates do
not over-commit a datastore between refreshes.
"""

import dataclasses
import itertools
import threading
import typing

from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.core import model
from cinder_vmware_ext.core import pools

BEST_FIT = 'best_fit'
MOST_FREE = 'most_free'
POLICIES = (BEST_FIT, MOST_FREE)


class NoDatastoreFits(Exception):
    """No eligible datastore of the pool can hold the volume."""

    def __init__(self, pool_name, size_bytes, largest_free_bytes, count):
        self.pool_name = pool_name
        self.size_bytes = size_bytes
        self.largest_free_bytes = largest_free_bytes
        self.count = count
        super().__init__(
            'No datastore of pool %s can hold %.2f GiB: the largest free '
            'space on any of its %d eligible datastore(s) is %.2f GiB.'
            % (pool_name, size_bytes / model.GiB, count,
               pools.floor_gb(largest_free_bytes)))


@dataclasses.dataclass(frozen=True)
class Choice:
    datastore: model.Datastore
    host_refs: typing.Tuple[str, ...]


def choose(pool: pools.Pool, size_bytes: int,
           held: typing.Mapping[str, int] = None,
           policy: str = BEST_FIT,
           allowed_types: typing.Optional[typing.AbstractSet[str]] = None,
           excluded: typing.AbstractSet[str] = frozenset(),
           prefer: typing.Optional[str] = None) -> Choice:
    """Pick a datastore of ``pool`` for ``size_bytes``.

    :param held: bytes already promised per datastore ref
    :param allowed_types: datastore types the volume type insists on
    :param excluded: datastore refs that must not be used
    :param prefer: a datastore ref taken whenever it is a candidate and
        fits (the datastore a lazily created volume was promised)
    :raises NoDatastoreFits: naming the pool, the size and the largest
        free space
    """
    held = held or {}
    if policy not in POLICIES:
        raise ValueError('unknown placement policy %r' % policy)

    def free(ds):
        return ds.free_space - held.get(ds.ref, 0)

    candidates = [ds for ds in pool.datastores
                  if ds.ref not in excluded and
                  (not allowed_types or
                   ds.type.lower() in {t.lower() for t in allowed_types})]
    fitting = [ds for ds in candidates if free(ds) >= size_bytes]
    if not fitting:
        largest = max((free(ds) for ds in candidates), default=0)
        raise NoDatastoreFits(pool.name, size_bytes, largest, len(candidates))

    def reach(ds):
        return len(eligibility.writable_hosts(ds, pool.host_refs))

    sign = 1 if policy == BEST_FIT else -1
    preferred = [ds for ds in fitting if ds.ref == prefer]
    best = preferred[0] if preferred else min(
        fitting, key=lambda ds: (sign * free(ds), -reach(ds), ds.name))
    hosts = eligibility.writable_hosts(best, pool.host_refs)
    return Choice(best, tuple(hosts))


class SpaceLedger(object):
    """Space promised to in-flight creates, per datastore ref."""

    def __init__(self):
        self._lock = threading.Lock()
        self._holds = {}
        self._ids = itertools.count(1)

    def hold(self, datastore_ref: str, size_bytes: int) -> int:
        with self._lock:
            token = next(self._ids)
            self._holds[token] = (datastore_ref, size_bytes)
            return token

    def release(self, token: int) -> None:
        with self._lock:
            self._holds.pop(token, None)

    def held(self) -> typing.Dict[str, int]:
        with self._lock:
            totals = {}
            for ref, size in self._holds.values():
                totals[ref] = totals.get(ref, 0) + size
            return totals
