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
"""The driver's pool service: stats, pool lookup and placement.

Glue between the inventory cache (vsphere/inventory.py) and the pure core
(core/): every decision is taken by core functions on one consistent
inventory snapshot; this module only chooses the inputs and turns the
results into what Cinder expects.
"""

import collections
import functools
import time

from cinder import exception
from oslo_log import log as logging

from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.core import placement
from cinder_vmware_ext.core import pools
from cinder_vmware_ext.core import promises
from cinder_vmware_ext.core import scheduling

LOG = logging.getLogger(__name__)

FILTER_FUNCTION = scheduling.FILTER_FUNCTION
GOODNESS_FUNCTION = scheduling.GOODNESS_FUNCTION

# A placement refused while another volume's backing is landing on one of
# the pool's datastores is tried again (every LANDING_POLL seconds, for up
# to LANDING_WAIT): vCenter may count that backing's space before its VM
# is visible, and its promise then counts the same space twice.
LANDING_WAIT = 30.0
LANDING_POLL = 0.5


class Placement(collections.namedtuple(
        'Placement', 'inventory pool choice release promise prior',
        defaults=(None, None))):
    """A datastore chosen in a pool, its space held until ``release()``.

    ``promise`` is the promise recorded on the volume's row (None for a
    placement without a volume, held in this process only), ``prior`` the
    one it replaced.
    """


class PoolService(object):
    """The backend's pools, from one refreshed inventory per question."""

    # Whether vmware_datastore_regex matched nothing at the last build.
    _regex_unmatched = False

    def __init__(self, inventory_cache, mode, cluster_names, rules,
                 policy=placement.BEST_FIT, vcenter_id='', ledger=None,
                 backing_names=None):
        self._cache = inventory_cache
        self._mode = mode
        self._cluster_names = list(cluster_names or [])
        self._rules = rules
        self._policy = policy
        self._vcenter_id = vcenter_id
        # Promises on Cinder's volume rows, seen by every service
        # (ledger.PromiseLedger); holds of placements without a volume
        # stay in this process.
        self.ledger = ledger
        # () -> names of every VM in vCenter: asked before refusing a
        # placement, to leave out promises whose backing has landed.
        self._backing_names = backing_names
        self._local = placement.SpaceLedger()
        self._memo = None  # (inventory, rules, pools) of the last build

    def set_rules(self, rules):
        """New eligibility rules (storage profile compliance changed)."""
        self._rules = rules

    def current(self):
        """(inventory, pools) as of now: one round trip when warm."""
        inventory = self._cache.refresh()
        rules = self._rules
        memo = self._memo
        # The cache hands out the same snapshot while nothing changed: keep
        # the pools built from it (an eligibility check per datastore and
        # host mount, most of a warm refresh's time on large inventories).
        if memo is not None and memo[0] is inventory and memo[1] == rules:
            return inventory, memo[2]
        try:
            clusters = pools.select_clusters(inventory, self._cluster_names)
        except ValueError as err:
            raise exception.InvalidConfigurationValue(
                option='vmware_cluster_name', value=str(err))
        found = pools.build_pools(self._mode, clusters, inventory, rules)
        self._memo = (inventory, rules, found)
        self._report_unmatched_regex(rules, clusters, inventory)
        return inventory, found

    def _report_unmatched_regex(self, rules, clusters, inventory):
        """Report a datastore regex that matches no datastore.

        An ERROR when vmware_datastore_regex comes to match no datastore
        of the clusters (at start-up: do_setup builds the pools), once per
        change.  Not fatal: matching datastores may be added later.
        """
        unmatched = eligibility.regex_matches_none(
            rules, eligibility.reachable_datastores(clusters, inventory))
        if unmatched and not self._regex_unmatched:
            LOG.error('vmware_datastore_regex %s matches no datastore of '
                      'the backend\'s clusters: its pools have no eligible '
                      'datastore until a matching one is added.',
                      rules.name_regex.pattern)
        self._regex_unmatched = unmatched

    def empty_reason(self):
        """Why a pool of this backend has no eligible datastore."""
        inventory = self._cache.refresh()
        clusters = pools.select_clusters(inventory, self._cluster_names)
        return eligibility.empty_pool_reason(
            self._rules,
            eligibility.reachable_datastores(clusters, inventory))

    def location_info(self, pool_name):
        return 'vmware_ext:%s:%s' % (self._vcenter_id, pool_name)

    def held(self, exclude=None, skip_landed=False):
        """Return the live promises and this process's holds.

        (promises.Held, the promise of ``exclude``'s volume): every live
        promise but that one plus this process's own holds.

        With ``skip_landed``, promises whose backing already exists in
        vCenter are left out: read in this order (promises, then vCenter's
        VMs, then the inventory by the caller), every backing left out has
        its space in the inventory read after.
        """
        own = None
        if not self.ledger:
            held = promises.Held()
        elif skip_landed:
            named = self.ledger.promises(named=True)
            own = named.pop(exclude, (None, None))[1] if exclude else None
            landed = self._backing_names()
            held = promises.held(promise for name, promise in named.values()
                                 if name not in landed)
        else:
            held = promises.held(self.ledger.totals(exclude), counted=True)
            own = self.ledger.promise_of(exclude) if exclude else None
        local = self._local.held()
        if local:
            held = promises.Held(_add(held.thick, local),
                                 _add(held.total, local))
        return held, own

    def pool_stats(self, common):
        """The ``pools`` list for get_volume_stats; ``common`` is merged in."""
        # Promises first, the inventory after: a promise released in
        # between (its backing landed) counts twice for a moment, never
        # zero times.
        held, _own = self.held()
        inventory, found = self.current()
        result = []
        for pool in found:
            figures = pools.capacity(pool, inventory, held)
            stats = dict(common)
            stats.update({
                'pool_name': pool.name,
                'total_capacity_gb': figures.total_gb,
                'free_capacity_gb': figures.free_gb,
                'provisioned_capacity_gb': figures.provisioned_gb,
                'promised_capacity_gb': figures.promised_gb,
                'largest_datastore_free_gb': figures.largest_free_gb,
                'datastore_count': figures.datastore_count,
                'shared_datastore_count': figures.shared_datastore_count,
                'location_info': self.location_info(pool.name),
            })
            result.append(stats)
        return result

    def find(self, pool_name):
        """(inventory, pool) for a pool name.

        Raises VolumeBackendAPIException when there is no such pool.
        """
        inventory, found = self.current()
        for pool in found:
            if pool.name == pool_name:
                return inventory, pool
        raise exception.VolumeBackendAPIException(
            data='Pool %s is not a pool of this backend (pools: %s).'
            % (pool_name, ', '.join(p.name for p in found) or 'none'))

    def pool_of_backing(self, datastore_ref, host_ref=None):
        """The pool of a backing on ``datastore_ref``, on ``host_ref``.

        A datastore shared by several clusters is in several pools; the
        backing's own host (its cluster) decides between them.
        """
        _inventory, found = self.current()
        holding = [p for p in found
                   if any(ds.ref == datastore_ref for ds in p.datastores)]
        for pool in holding:
            if pool.cluster and host_ref in pool.cluster.hosts:
                return pool.name
        return holding[0].name if holding else None

    def place(self, pool_name, size_bytes, allowed_types=None,
              excluded=frozenset(), writable_from=None, volume_id=None,
              kind=promises.THICK, landing=True):
        """Choose a datastore of the pool and promise its space.

        With a ``volume_id`` (and a ledger) the promise is recorded on the
        volume's row under the vCenter's placement lock, so every service
        sees it; a datastore the volume was already promised is taken
        again when it still qualifies.  Without, the space is held in this
        process only.

        ``landing`` (the default) promises a backing made right after;
        False a promise kept until a later first use (lazy create).  While
        another volume's backing is landing in the pool, a refusal waits
        for it (LANDING_WAIT) and the choice is made again.

        :param writable_from: a host ref the datastore must be writable from
        :returns: a Placement; call its ``release()`` once the backing
            exists (or failed), when vCenter's own free space tells the rest
        """
        if volume_id is None or self.ledger is None:
            held, _own = self.held()
            inventory, pool, choice = self._choose(
                pool_name, size_bytes, held, allowed_types, excluded,
                writable_from)
            token = self._local.hold(choice.datastore.ref, size_bytes)
            return Placement(inventory, pool, choice,
                             functools.partial(self._local.release, token))
        deadline = time.monotonic() + LANDING_WAIT
        while True:
            with self.ledger.lock():
                try:
                    inventory, pool, choice, own = self._choose_promised(
                        pool_name, size_bytes, allowed_types, excluded,
                        writable_from, volume_id)
                except exception.VolumeBackendAPIException:
                    waiting = self._landing_elsewhere(pool_name, volume_id)
                    if not waiting or time.monotonic() >= deadline:
                        raise
                else:
                    promise = self.ledger.promise(
                        choice.datastore.ref, size_bytes, kind, landing)
                    if own is None:
                        recorded = self.ledger.record(volume_id, promise)
                    else:
                        recorded = self.ledger.replace(volume_id, own,
                                                       promise)
                    break
            LOG.debug('Placement of volume %(vol)s in pool %(pool)s waits '
                      'for the backings landing on its datastores (volumes '
                      '%(landing)s).', {'vol': volume_id, 'pool': pool_name,
                                        'landing': ', '.join(waiting)})
            _pause(LANDING_POLL)
        if not recorded:
            promise = None
        release = (functools.partial(self.ledger.clear, volume_id, promise)
                   if promise else _nothing)
        return Placement(inventory, pool, choice, release, promise, own)

    def _choose_promised(self, pool_name, size_bytes, allowed_types,
                         excluded, writable_from, volume_id):
        """Choose under the placement lock, counting the others' promises.

        Returns (inventory, pool, choice, the volume's own promise).
        """
        held, own = self.held(exclude=volume_id)
        prefer = own.datastore if own else None
        try:
            inventory, pool, choice = self._choose(
                pool_name, size_bytes, held, allowed_types, excluded,
                writable_from, prefer=prefer)
        except exception.VolumeBackendAPIException:
            if self._backing_names is None:
                raise
            # Before refusing: a backing landed but not yet released
            # counts twice (vCenter's free space and its promise).
            held, own = self.held(exclude=volume_id, skip_landed=True)
            inventory, pool, choice = self._choose(
                pool_name, size_bytes, held, allowed_types, excluded,
                writable_from, prefer=prefer)
        return inventory, pool, choice, own

    def _landing_elsewhere(self, pool_name, volume_id):
        """Other volumes whose backing is landing on the pool's datastores.

        Sorted volume ids; empty when the pool is unknown.
        """
        try:
            _inventory, pool = self.find(pool_name)
        except exception.VolumeBackendAPIException:
            return []
        refs = {ds.ref for ds in pool.datastores}
        return sorted(vol_id for vol_id, promise
                      in self.ledger.promises().items()
                      if promise.landing and vol_id != volume_id and
                      promise.datastore in refs)

    def hold(self, volume_id, datastore_ref, size_bytes,
             kind=promises.THICK):
        """Promise space on a given datastore (an extend in place).

        :returns: (promise recorded or None, the promise it replaced)
        """
        if self.ledger is None:
            return None, None
        promise = self.ledger.promise(datastore_ref, size_bytes, kind,
                                      landing=True)
        with self.ledger.lock():
            own = self.ledger.promise_of(volume_id)
            if own is None:
                recorded = self.ledger.record(volume_id, promise)
            else:
                recorded = self.ledger.replace(volume_id, own, promise)
        return (promise if recorded else None), own

    def _choose(self, pool_name, size_bytes, held, allowed_types, excluded,
                writable_from, prefer=None):
        inventory, pool = self.find(pool_name)
        if not pool.datastores:
            raise exception.VolumeBackendAPIException(
                data='Pool %s: %s.' % (pool_name, self.empty_reason()))
        excluded = set(excluded)
        if writable_from:
            excluded.update(ds.ref for ds in pool.datastores
                            if writable_from not in ds.mounts.writable)
        try:
            choice = placement.choose(pool, size_bytes, held.thick,
                                      self._policy, allowed_types, excluded,
                                      prefer=prefer)
        except placement.NoDatastoreFits as err:
            raise exception.VolumeBackendAPIException(data=str(err))
        return inventory, pool, choice


def _add(a, b):
    total = dict(a)
    for key, value in b.items():
        total[key] = total.get(key, 0) + value
    return total


def _nothing():
    pass


def _pause(seconds):
    time.sleep(seconds)


def rules_from_config(configuration, compliant=None):
    return eligibility.Rules.from_config(
        regex=configuration.safe_get('vmware_datastore_regex'),
        compliant=compliant)
