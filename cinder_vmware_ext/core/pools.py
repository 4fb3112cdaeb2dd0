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
"""Pools and their honest capacity figures.

A pool is a vCenter cluster (``vmware_pool_mode = cluster``) or a single
datastore (``vmware_pool_mode = datastore``).  Its figures are sums over
its distinct eligible datastores, floored to 1/100 GiB so that nothing is
ever rounded up, plus the largest free space on any one datastore: the
figure that says whether a volume can fit at all (ten datastores with
1 GiB free each sum to 10 GiB, yet a 2 GiB volume fits on none).
"""

import collections
import dataclasses
import typing

from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.core import model
from cinder_vmware_ext.core import promises

CLUSTER_MODE = 'cluster'
DATASTORE_MODE = 'datastore'


@dataclasses.dataclass(frozen=True)
class Pool:
    """A named set of eligible datastores and the hosts that reach them."""

    name: str
    datastores: typing.Tuple[model.Datastore, ...]
    host_refs: typing.FrozenSet[str]
    cluster: typing.Optional[model.Cluster] = None


@dataclasses.dataclass(frozen=True)
class Capacity:
    total_gb: float
    free_gb: float
    provisioned_gb: float
    largest_free_gb: float
    datastore_count: int
    shared_datastore_count: int
    promised_gb: float = 0.0


def floor_gb(size_bytes: int) -> float:
    """Bytes to GiB, floored to two decimals (never rounded up)."""
    return max(0, int(size_bytes)) * 100 // model.GiB / 100


def _unique_names(items, name_of, datacenter_of):
    """Name each item by its own name, or ``datacenter/name`` on a clash."""
    counts = collections.Counter(name_of(i) for i in items)
    return [(name_of(i) if counts[name_of(i)] == 1
             else '%s/%s' % (datacenter_of(i), name_of(i)), i)
            for i in items]


def select_clusters(
        inventory: model.Inventory,
        wanted: typing.Sequence[str]) -> typing.List[model.Cluster]:
    """The clusters named in ``vmware_cluster_name`` (all when empty).

    A name may be ``cluster`` or ``datacenter/cluster``; a plain name that
    several datacenters use selects all of them.  Unknown names raise
    ValueError naming them.
    """
    clusters = sorted(inventory.clusters.values(),
                      key=lambda c: (c.datacenter, c.name, c.ref))
    if not wanted:
        return clusters
    chosen, missing = [], []
    for name in wanted:
        found = [c for c in clusters
                 if name in (c.name, '%s/%s' % (c.datacenter, c.name))]
        if not found:
            missing.append(name)
        chosen.extend(c for c in found if c not in chosen)
    if missing:
        raise ValueError('cluster(s) not found in vCenter: %s'
                         % ', '.join(missing))
    return chosen


def cluster_pools(clusters: typing.Sequence[model.Cluster],
                  inventory: model.Inventory,
                  rules: eligibility.Rules) -> typing.List[Pool]:
    """One pool per cluster, named after it.

    On a name clash the pool is named ``datacenter/cluster``.
    """
    pools = []
    named = _unique_names(clusters, lambda c: c.name, lambda c: c.datacenter)
    for name, cluster in named:
        hosts = frozenset(eligibility.usable_hosts(cluster, inventory))
        datastores = eligibility.eligible_datastores(cluster, inventory, rules)
        pools.append(Pool(name, tuple(datastores), hosts, cluster))
    return pools


def datastore_pools(clusters: typing.Sequence[model.Cluster],
                    inventory: model.Inventory,
                    rules: eligibility.Rules) -> typing.List[Pool]:
    """One pool per datastore eligible for any of the clusters."""
    reach = collections.defaultdict(set)
    owner = {}
    for cluster in clusters:
        hosts = eligibility.usable_hosts(cluster, inventory)
        for ds in eligibility.eligible_datastores(cluster, inventory, rules):
            reach[ds.ref].update(eligibility.writable_hosts(ds, hosts))
            owner.setdefault(ds.ref, cluster)
    datastores = [inventory.datastores[ref] for ref in sorted(reach)]
    named = _unique_names(datastores, lambda d: d.name,
                          lambda d: d.datacenter or '')
    return [Pool(name, (ds,), frozenset(reach[ds.ref]), owner[ds.ref])
            for name, ds in sorted(named)]


def build_pools(mode: str, clusters, inventory, rules) -> typing.List[Pool]:
    if mode == DATASTORE_MODE:
        return datastore_pools(clusters, inventory, rules)
    return cluster_pools(clusters, inventory, rules)


def _own_hosts(pool: Pool) -> typing.FrozenSet[str]:
    return frozenset(pool.cluster.hosts if pool.cluster else pool.host_refs)


def is_shared(datastore: model.Datastore, pool: Pool,
              inventory: model.Inventory, own=None) -> bool:
    """True when a host outside the pool's cluster also mounts it.

    Its free space then shows in other clusters' pools too, and they may
    consume it.  ``own`` is the pool's own hosts, when already known.
    """
    own = own or _own_hosts(pool)
    mounted = datastore.mounts.mounted
    if mounted.issubset(own):
        return False
    hosts = inventory.hosts
    return any(h in hosts for h in mounted if h not in own)


def capacity(pool: Pool, inventory: model.Inventory,
             held=None) -> Capacity:
    """The pool's figures, less the space promised on its datastores.

    ``held`` is a ``promises.Held`` (or a plain {datastore ref: bytes},
    all thick).  Each datastore's promises count once in each pool that
    has the datastore: thick ones are not free, every one is provisioned.
    """
    if held is None:
        held = promises.Held()
    elif not isinstance(held, promises.Held):
        held = promises.Held(dict(held), dict(held))
    own = _own_hosts(pool)
    free = [max(0, ds.free_space - held.thick.get(ds.ref, 0))
            for ds in pool.datastores]
    promised = sum(held.total.get(ds.ref, 0) for ds in pool.datastores)
    return Capacity(
        total_gb=floor_gb(sum(ds.capacity for ds in pool.datastores)),
        free_gb=floor_gb(sum(free)),
        provisioned_gb=floor_gb(sum(ds.provisioned for ds in pool.datastores)
                                + promised),
        largest_free_gb=floor_gb(max(free, default=0)),
        datastore_count=len(pool.datastores),
        shared_datastore_count=sum(1 for ds in pool.datastores
                                   if is_shared(ds, pool, inventory, own)),
        promised_gb=floor_gb(promised))
