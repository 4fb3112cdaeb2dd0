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
"""Which datastores may hold volumes of a pool.

One predicate, ``ineligibility_reason``, decides for stats and for
placement alike, so the scheduler is never told about space that
placement would refuse to use.
"""

import dataclasses
import re
import typing

from cinder_vmware_ext.core import model

# The datastore types upstream's driver can create backings on
# (cinder.volume.drivers.vmware.datastore.DatastoreType), as vSphere
# spells them in DatastoreSummary.type.
SUPPORTED_TYPES = frozenset(['VMFS', 'NFS', 'NFS41', 'vsan', 'VVOL'])

# The reason of a datastore marked by ``cinder-vmware datastore drain``.
DRAINED = 'datastore is drained (cinder-vmware datastore undrain ends it)'


@dataclasses.dataclass(frozen=True)
class Rules:
    """What the backend's configuration asks of a datastore.

    :param name_regex: compiled ``vmware_datastore_regex`` (must match the
        whole name, as upstream's ``re.match`` from the start does) or None
    :param types: the datastore types allowed (case-insensitive)
    :param compliant: refs of datastores that comply with
        ``vmware_storage_profile``, or None when no profile is configured
    """

    name_regex: typing.Optional[typing.Pattern] = None
    types: typing.FrozenSet[str] = SUPPORTED_TYPES
    compliant: typing.Optional[typing.FrozenSet[str]] = None

    @classmethod
    def from_config(cls, regex=None, types=None, compliant=None):
        return cls(name_regex=re.compile(regex) if regex else None,
                   types=frozenset(types) if types else SUPPORTED_TYPES,
                   compliant=(frozenset(compliant)
                              if compliant is not None else None))

    def type_allowed(self, ds_type: str) -> bool:
        wanted = ds_type.lower()
        return any(t.lower() == wanted for t in self.types)


def usable_hosts(cluster: model.Cluster,
                 inventory: model.Inventory) -> typing.Set[str]:
    """Return the cluster's hosts that can take a volume.

    Refs of the cluster's connected hosts that are not in maintenance
    and not reserved by vSphere HA as failover hosts.
    """
    return {h.ref for h in inventory.cluster_hosts(cluster)
            if h.usable and h.ref not in cluster.failover_hosts}


FAILOVER_ONLY = ('reachable only through vSphere HA failover hosts, where '
                 'vCenter runs no VM')


def ineligibility_reason(datastore: model.Datastore,
                         host_refs: typing.AbstractSet[str],
                         rules: Rules,
                         reserved: typing.AbstractSet[str] = frozenset()
                         ) -> typing.Optional[str]:
    """Why ``datastore`` cannot serve a pool whose usable hosts are given.

    :param reserved: the pool's hosts that vSphere HA keeps as failover
        hosts (not among ``host_refs``), to name them as the reason
    Returns None when the datastore is eligible.
    """
    if not datastore.accessible:
        return 'datastore is not accessible'
    if datastore.maintenance_mode != 'normal':
        return 'datastore is %s' % datastore.maintenance_mode
    if datastore.drained:
        return DRAINED
    if rules.name_regex and not rules.name_regex.match(datastore.name):
        return 'name does not match vmware_datastore_regex'
    if not rules.type_allowed(datastore.type):
        return 'datastore type %s is not supported' % datastore.type
    if datastore.capacity <= 0:
        return 'datastore reports no capacity'
    if datastore.mounts.writable.isdisjoint(host_refs):
        if not datastore.mounts.writable.isdisjoint(reserved):
            return FAILOVER_ONLY
        if _read_only_on(datastore, host_refs):
            return ('read-only on every usable host of the pool (none has '
                    'it read-write)')
        return ('no usable host: no connected host of the pool outside '
                'maintenance has it mounted, accessible and read-write')
    if rules.compliant is not None and datastore.ref not in rules.compliant:
        return 'datastore does not comply with vmware_storage_profile'
    return None


def _read_only_on(datastore, host_refs):
    """Tell whether a usable host has the datastore read-only.

    Whether a usable host has the datastore mounted and accessible,
    read-only (asked only of a datastore no usable host can write).
    """
    return any(m.host in host_refs and m.mounted and m.accessible
               for m in datastore.mounts)


def eligible_datastores(cluster: model.Cluster, inventory: model.Inventory,
                        rules: Rules) -> typing.List[model.Datastore]:
    """The cluster's eligible datastores, each once, sorted by name."""
    hosts = usable_hosts(cluster, inventory)
    found = [ds for ds in inventory.datastores.values()
             if ineligibility_reason(ds, hosts, rules) is None]
    return sorted(found, key=lambda ds: (ds.name, ds.ref))


def cluster_ineligibility_reason(datastore: model.Datastore,
                                 cluster: model.Cluster,
                                 inventory: model.Inventory,
                                 rules: Rules) -> typing.Optional[str]:
    """Why ``datastore`` cannot serve ``cluster``'s pool (None: it can)."""
    return ineligibility_reason(datastore, usable_hosts(cluster, inventory),
                                rules, cluster.failover_hosts)


def writable_hosts(datastore: model.Datastore,
                   host_refs: typing.AbstractSet[str]) -> typing.List[str]:
    """Hosts among ``host_refs`` that can write to the datastore."""
    return sorted(datastore.mounts.writable.intersection(host_refs))


def reachable_datastores(clusters: typing.Iterable[model.Cluster],
                         inventory: model.Inventory
                         ) -> typing.List[model.Datastore]:
    """Datastores mounted on any host of ``clusters``, eligible or not."""
    hosts = {ref for cluster in clusters for ref in cluster.hosts}
    return [ds for ds in inventory.datastores.values()
            if not ds.mounts.mounted.isdisjoint(hosts)]


def regex_matches_none(rules: Rules,
                       datastores: typing.Iterable[model.Datastore]) -> bool:
    """Tell whether the datastore regex matches none of the datastores.

    Whether ``vmware_datastore_regex`` is set and matches none of
    ``datastores`` (a typo, or datastores not added yet).
    """
    return rules.name_regex is not None and not any(
        rules.name_regex.match(ds.name) for ds in datastores)


def empty_pool_reason(rules: Rules,
                      datastores: typing.Iterable[model.Datastore]) -> str:
    """Why a pool has no eligible datastore, as far as the rules tell."""
    if regex_matches_none(rules, datastores):
        return ('pool has no eligible datastore: regex %s matches none'
                % rules.name_regex.pattern)
    return 'pool has no eligible datastore'
