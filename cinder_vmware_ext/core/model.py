"""Plain data describing the part of a vCenter inventory pools depend on."""

import dataclasses
import typing

GiB = 1024 ** 3

# Datastore types as vSphere reports them in DatastoreSummary.type.
DATASTORE_TYPES = ('VMFS', 'NFS', 'NFS41', 'vsan', 'VVOL', 'OTHER', 'CIFS',
                   'PMEM', 'vsanD')


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

    Sizes are bytes, as vSphere reports them.
    """

    ref: str
    name: str
    type: str
    capacity: int
    free_space: int
    uncommitted: int = 0
    accessible: bool = True
    maintenance_mode: str = 'normal'
    mounts: typing.Tuple[HostMount, ...] = ()
    datacenter: typing.Optional[str] = None

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
