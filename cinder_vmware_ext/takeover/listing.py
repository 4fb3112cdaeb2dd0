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
"""The listing cache: one discovery reused across pages and quick calls.

Cinder pages ``manageable-list`` with marker/offset/limit and asks the
driver for every page; without this, every page re-discovers the estate
(one property pass and a search per datastore).  A listing is kept per
driver and reused while nothing it depends on changed:

- the datastores come from the driver's inventory cache (its change feed
  updates their figures when disk data is written or deleted): a datastore
  whose inventory entry changed is searched again, a new one searched, a
  gone one dropped;
- VMs, folders and datacenters from a change feed of their own
  (``vsphere.changes``): when any changed, the VM pass is read again and
  the datastores holding the changed VMs' disks (before and after) are
  searched again;
- a manage or unmanage through this driver names the datastores it
  touched (``touched``), searched again on the next call;
- past ``vmware_takeover_listing_max_age`` seconds everything is
  discovered afresh.

It also keeps the takeover's mirror of the VMs, folders, datacenters and
datastores (``objects``, a ``vsphere.mirror.ObjectMirror``): each manage
checks its disk against every VM several times, and reads only what
changed since the last check instead of the whole inventory; a listing
whose VMs changed reads them from it too.
"""

import dataclasses
import threading
import time

from oslo_log import log as logging

from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.vsphere import bulk_soap
from cinder_vmware_ext.vsphere import changes
from cinder_vmware_ext.vsphere import mirror

LOG = logging.getLogger(__name__)

# What the VM pass reads, watched (references only) between listings.
FEED_PROPERTIES = {
    'VirtualMachine': discovery.PROPERTIES['VirtualMachine'],
    'Folder': ['name', 'parent'],
    'Datacenter': ['name', 'parent'],
}


@dataclasses.dataclass
class _State:
    at: float                 # when the whole estate was last discovered
    backend: str
    reachable: dict           # datastore ref -> model.Datastore
    pool_of: dict
    objects: dict             # retrieve() result
    vm_disks: list
    searched: dict            # datastore name -> [search results]
    errors: dict              # datastore name -> error message
    disks: list               # DiskRecords
    generation: int
    derived: dict = dataclasses.field(default_factory=dict)


class ListingCache(object):
    """A driver's reusable listing of the disks its pools reach."""

    def __init__(self, session, max_age, clock=time.monotonic):
        self.session = self._session = session
        self._max_age = max_age
        self._clock = clock
        self._feed = changes.ChangeFeed(session, FEED_PROPERTIES)
        self._mirror = mirror.ObjectMirror(session, discovery.PROPERTIES,
                                           max_age, clock)
        self._lock = threading.Lock()
        self._state = None
        self._touched = set()
        self._touched_vms = False
        self._generation = 0
        # How each call was answered: full, partial or reused.
        self.counts = {'full': 0, 'partial': 0, 'reused': 0}
        # Where the last full discovery's time went.
        self.seconds = {}

    def disks(self, scope):
        """The DiskRecords of ``scope``, as of now."""
        return self._current(scope).disks

    def derive(self, scope, key, build):
        """``build(disks)``, kept with the listing until it changes."""
        state = self._current(scope)
        with self._lock:
            if key not in state.derived:
                state.derived[key] = build(state.disks)
            return state.derived[key]

    def objects(self):
        """What ``bulk_soap.retrieve(discovery.PROPERTIES)`` answers now.

        From the mirror: the changes since the last call, not a whole pass.
        """
        return self._mirror.objects()

    def touched(self, datastores):
        """A manage or unmanage changed these datastores (names) and VMs."""
        with self._lock:
            self._touched.update(d for d in datastores if d)
            self._touched_vms = True

    def invalidate(self):
        with self._lock:
            self._state = None

    def close(self):
        with self._lock:
            self._feed.close()
            self._mirror.close()
            self._state = None

    # -- internals ----------------------------------------------------------

    def _current(self, scope):
        with self._lock:
            state = self._state
            now = self._clock()
            if (state is None or self._max_age <= 0 or
                    now - state.at >= self._max_age or
                    state.backend != scope.backend):
                return self._full(scope, now)
            changed = self._feed.poll()
            if changed is None:
                return self._full(scope, now)
            return self._refresh(state, scope, changed)

    def _new_state(self, at, scope, objects, vm_disks, searched, errors):
        self._generation += 1
        self._touched.clear()
        self._touched_vms = False
        disks = discovery.merge(scope, vm_disks,
                                discovery.found_files(searched))
        self._state = _State(at, scope.backend, dict(scope.reachable),
                             dict(scope.pool_of), objects, vm_disks,
                             searched, errors, disks, self._generation)
        return self._state

    def _full(self, scope, now):
        self.counts['full'] += 1
        seconds = self.seconds = {}
        started = time.monotonic()
        # The feed's baseline first: what changes during the discovery
        # shows on the next call.
        self._feed.poll()
        seconds['feed'] = time.monotonic() - started
        objects = bulk_soap.retrieve(self._session, discovery.PROPERTIES)
        seconds['properties'] = time.monotonic() - started - sum(
            seconds.values())
        searched, errors = discovery.search(
            self._session, discovery.browsers_of(scope, objects))
        seconds['search'] = time.monotonic() - started - sum(
            seconds.values())
        state = self._new_state(now, scope, objects,
                                discovery.vm_disks(objects), searched,
                                errors)
        seconds['merge'] = time.monotonic() - started - sum(seconds.values())
        LOG.info('Takeover listing: %d disks discovered (%s).',
                 len(state.disks), ', '.join(
                     '%s %.2fs' % kv for kv in seconds.items()))
        return state

    def _refresh(self, state, scope, changed):
        stale = set(self._touched)
        for ref, ds in scope.reachable.items():
            old = state.reachable.get(ref)
            if old != ds:
                stale.add(ds.name)
                if old is not None:
                    stale.add(old.name)
        names = {ds.name for ds in scope.reachable.values()}
        objects, vm_disks = state.objects, state.vm_disks
        new_refs = any(ref not in objects for ref in scope.reachable)
        if changed or self._touched_vms or new_refs:
            objects = self._mirror.objects()
            vm_disks = discovery.vm_disks(objects)
            vms = {value for type_, value in changed
                   if type_ == 'VirtualMachine'}
            for disk in state.vm_disks + vm_disks:
                if disk.vm.ref in vms:
                    stale.add(discovery.split_ds_path(disk.file_name)[0])
        elif (not stale and scope.pool_of == state.pool_of and
                set(scope.reachable) == set(state.reachable)):
            self.counts['reused'] += 1
            return state
        browsers = discovery.browsers_of(scope, objects)
        again = {name: browser for name, browser in browsers.items()
                 if name in stale or name in state.errors or
                 name not in state.searched}
        searched = {n: r for n, r in state.searched.items()
                    if n in names and n in browsers and n not in again}
        found, errors = discovery.search(self._session, again)
        searched.update(found)
        self.counts['partial'] += 1
        LOG.debug('Takeover listing: %d datastores searched again, %s.',
                  len(again), 'VMs read again' if objects is not
                  state.objects else 'VMs reused')
        return self._new_state(state.at, scope, objects, vm_disks, searched,
                               errors)
