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
"""Plain data describing the part of a vCenter inventory pools depend on."""

import collections.abc
import dataclasses
import typing

GiB = 1024 ** 3


@dataclasses.dataclass(frozen=True)
class HostMount:
    """One host's view of a datastore (DatastoreHostMount)."""

    host: str
    mounted: bool = True
    accessible: bool = True
    access_mode: str = 'readWrite'

    @property
    def writable(self) -> bool:
        return (self.mounted and self.accessible and
                self.access_mode == 'readWrite')


class HostMounts(collections.abc.Sequence):
    """A datastore's host mounts (Datastore.host), held compactly.

    In a large vCenter a datastore is mounted on hundreds of hosts and
    nearly every mount is plain: mounted, accessible and read-write.  This
    keeps the hosts in their order and only the mounts that differ as
    HostMount objects, and answers the questions pools ask (which hosts can
    write, which have it mounted) with frozensets instead of a walk over
    every mount.  It reads like the tuple of HostMount it stands for.
    """

    __slots__ = ('_hosts', '_odd', 'writable', 'mounted')

    def __init__(self, hosts=(), odd=None):
        """Record a datastore's host mounts.

        :param hosts: host refs, in the order vCenter lists the mounts
        :param odd: {host ref: HostMount} for the mounts that are not plain
        """
        self._hosts = tuple(hosts)
        # Plain means writable: mounted, accessible and read-write.
        self._odd = {h: m for h, m in (odd or {}).items() if not m.writable}
        hosts = frozenset(self._hosts)
        self.writable = hosts - self._odd.keys()
        self.mounted = hosts - {h for h, m in self._odd.items()
                                if not m.mounted}

    @classmethod
    def of(cls, mounts):
        """From HostMount objects."""
        mounts = tuple(mounts)
        return cls((m.host for m in mounts), {m.host: m for m in mounts})

    def __len__(self):
        return len(self._hosts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self)[index]
        host = self._hosts[index]
        return self._odd.get(host) or HostMount(host)

    def __iter__(self):
        odd = self._odd
        for host in self._hosts:
            yield odd.get(host) or HostMount(host)

    def __eq__(self, other):
        if isinstance(other, HostMounts):
            return self._hosts == other._hosts and self._odd == other._odd
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self):
        return hash((self._hosts, frozenset(self._odd.items())))

    def __repr__(self):
        return 'HostMounts(%r)' % (tuple(self),)


@dataclasses.dataclass(frozen=True)
class Host:
    """An ESX host and the runtime state placement cares about."""

    ref: str
    name: str
    cluster: typing.Optional[str] = None
    connection_state: str = 'connected'
    in_maintenance: bool = False

    @property
    def usable(self) -> bool:
        return self.connection_state == 'connected' and not self.in_maintenance


@dataclasses.dataclass(frozen=True)
class Datastore:
    """A datastore's summary and its host mounts.

    Sizes are bytes, as vSphere reports them.  ``mounts`` may be given as
    a tuple of HostMount; it is kept as HostMounts.
    """

    ref: str
    name: str
    type: str
    capacity: int
    free_space: int
    uncommitted: int = 0
    accessible: bool = True
    maintenance_mode: str = 'normal'
    mounts: HostMounts = HostMounts()
    datacenter: typing.Optional[str] = None
    # Marked by ``cinder-vmware datastore drain`` (a custom attribute):
    # no pool places there.
    drained: bool = False

    def __post_init__(self):
        if not isinstance(self.mounts, HostMounts):
            object.__setattr__(self, 'mounts', HostMounts.of(self.mounts))

    @property
    def provisioned(self) -> int:
        return self.capacity - self.free_space + self.uncommitted


@dataclasses.dataclass(frozen=True)
class Cluster:
    """A ClusterComputeResource: for Cinder, one pool."""

    ref: str
    name: str
    datacenter: str = ''
    hosts: typing.Tuple[str, ...] = ()
    resource_pool: typing.Optional[str] = None
    # Hosts vSphere HA reserves as failover hosts (admission control's
    # "dedicated failover hosts" policy): vCenter runs no VM there.
    failover_hosts: typing.FrozenSet[str] = frozenset()


@dataclasses.dataclass
class Inventory:
    """Clusters, hosts and datastores keyed by their moref values."""

    clusters: typing.Dict[str, Cluster] = dataclasses.field(
        default_factory=dict)
    hosts: typing.Dict[str, Host] = dataclasses.field(default_factory=dict)
    datastores: typing.Dict[str, Datastore] = dataclasses.field(
        default_factory=dict)

    def cluster_hosts(self, cluster: Cluster) -> typing.List[Host]:
        return [self.hosts[ref] for ref in cluster.hosts if ref in self.hosts]
