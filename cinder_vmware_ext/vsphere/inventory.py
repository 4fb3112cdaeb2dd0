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
"""The inventory cache: clusters, hosts and datastores, kept fresh.

One PropertyCollector filter over a ContainerView of the whole inventory
asks for exactly what pools and placement need.  The first
``WaitForUpdatesEx`` (version "") returns everything; every later refresh
is one round trip returning only what changed since the last version, so
its cost follows the changes, not the size of the vCenter.  A lost
session, a restarted vCenter or a vanished collector rebuilds the cache.
"""

import threading

from oslo_log import log as logging
from oslo_vmware import exceptions as vexc

from cinder_vmware_ext.core import model
from cinder_vmware_ext.vsphere import bulk_soap
from cinder_vmware_ext.vsphere import marks
from cinder_vmware_ext.vsphere import view_spec

LOG = logging.getLogger(__name__)

# Only what eligibility, capacity and placement look at.
PROPERTIES = {
    'Datacenter': ['name'],
    'Folder': ['parent'],
    # configurationEx: vSphere HA's failover hosts (dasConfig).
    'ClusterComputeResource': ['name', 'parent', 'host', 'resourcePool',
                               'configurationEx'],
    'HostSystem': ['name', 'parent', 'runtime.connectionState',
                   'runtime.inMaintenanceMode'],
    'Datastore': ['summary', 'host', 'parent', 'customValue'],
}

# Faults after which the collector or its filter must be built anew.
_REBUILD_FAULTS = ('ManagedObjectNotFound', 'InvalidCollectorVersion',
                   'NotAuthenticated', 'InvalidArgument')


def _set_path(props, path, value):
    head, _, rest = path.partition('.')
    if not rest:
        props[head] = value
        return
    child = props.get(head)
    if not isinstance(child, dict):
        child = props[head] = {}
    _set_path(child, rest, value)


def _remove_path(props, path):
    head, _, rest = path.partition('.')
    if not rest:
        props.pop(head, None)
    elif isinstance(props.get(head), dict):
        _remove_path(props[head], rest)


def _bool(value, default=False):
    if value in (None, ''):
        return default
    return value is True or value == 'true'


def _ref_value(ref):
    return ref[1] if isinstance(ref, tuple) else ref


def _failover_hosts(config):
    """The hosts vSphere HA reserves for failover in a ClusterConfigInfoEx.

    Only the "dedicated failover hosts" admission control policy
    (ClusterFailoverHostAdmissionControlPolicy, the one policy with
    ``failoverHosts``) reserves hosts, and only while HA and its admission
    control are enabled.
    """
    das = config.get('dasConfig') if isinstance(config, dict) else None
    if not isinstance(das, dict) or not _bool(das.get('enabled')):
        return frozenset()
    if not _bool(das.get('admissionControlEnabled'), default=True):
        return frozenset()
    policy = das.get('admissionControlPolicy')
    if not isinstance(policy, dict):
        return frozenset()
    return frozenset(_ref_value(h) for h in
                     bulk_soap.as_list(policy.get('failoverHosts')))


class InventoryCache(object):
    """A cached, incrementally updated view of vCenter's storage inventory."""

    def __init__(self, session):
        self._session = session
        self._reader = bulk_soap.BulkReader(session)
        self._lock = threading.Lock()
        self._collector = None
        self._version = None
        self._objects = {}       # moref value -> (type, props)
        self._converted = {}     # moref value -> model object
        self._dirty = set()
        self._snapshot = None
        self._fields_manager = None
        self._mark_key = None
        self.round_trips = 0
        self.rebuilds = 0

    # -- public -------------------------------------------------------------

    def refresh(self):
        """Bring the cache up to date and return a model.Inventory."""
        with self._lock:
            try:
                self._pull()
            except (vexc.VimFaultException, vexc.VimConnectionException,
                    vexc.NotAuthenticatedException) as err:
                if not self._needs_rebuild(err):
                    raise
                LOG.info('Rebuilding the vCenter inventory cache after: %s',
                         err)
                self._reset()
                self._pull()
            return self._inventory()

    def close(self):
        with self._lock:
            view_spec.close_collector(self._session, self._collector)
            self._reset()

    # -- collection ---------------------------------------------------------

    @staticmethod
    def _needs_rebuild(err):
        if isinstance(err, (vexc.NotAuthenticatedException,
                            vexc.VimConnectionException)):
            return True
        names = getattr(err, 'fault_list', None) or []
        return any(n in _REBUILD_FAULTS for n in names)

    def _reset(self):
        self._collector = None
        self._version = None
        self._objects.clear()
        self._converted.clear()
        self._dirty.clear()
        self._snapshot = None
        self.rebuilds += 1

    def _start(self):
        # The attribute definitions too: the drain mark's key.
        self._collector, _view = view_spec.open_collector(
            self._session, PROPERTIES,
            watch=lambda spec: marks.watch(self._session, spec))
        self._version = ''

    def _pull(self):
        if self._collector is None:
            self._start()
        while True:
            self.round_trips += 1
            version, truncated = self._reader.wait_for_updates(
                self._collector, self._version, self._apply)
            if version is None:
                return
            self._version = version
            if not truncated:
                return

    def _apply(self, kind, obj, changes):
        type_, ref = obj
        if type_ == marks.MANAGER_TYPE:
            self._fields_manager = ref
        if kind == 'leave':
            self._objects.pop(ref, None)
            self._converted.pop(ref, None)
        else:
            props = self._objects.setdefault(ref, (type_, {}))[1]
            for op, path, value in changes:
                if op in ('remove', 'indirectRemove'):
                    _remove_path(props, path)
                else:
                    _set_path(props, path, value)
            self._dirty.add(ref)
        self._snapshot = None

    # -- conversion to the pure model --------------------------------------

    def _datacenter_of(self, ref, depth=0):
        entry = self._objects.get(ref)
        if entry is None or depth > 64:
            return ''
        type_, props = entry
        if type_ == 'Datacenter':
            return props.get('name', '')
        return self._datacenter_of(_ref_value(props.get('parent')), depth + 1)

    def _convert(self, ref, type_, props):
        if type_ == 'Datastore':
            summary = props.get('summary') or {}
            mounts = props.get('host')
            if not isinstance(mounts, model.HostMounts):
                # A generic reply (host_mounts() reads the usual one).
                mounts = model.HostMounts.of(
                    bulk_soap.host_mount(m) for m in bulk_soap.as_list(mounts))
            return model.Datastore(
                ref=ref, name=summary.get('name', ''),
                type=summary.get('type', ''),
                capacity=int(summary.get('capacity') or 0),
                free_space=int(summary.get('freeSpace') or 0),
                uncommitted=int(summary.get('uncommitted') or 0),
                accessible=_bool(summary.get('accessible')),
                maintenance_mode=summary.get('maintenanceMode') or 'normal',
                mounts=mounts,
                datacenter=self._datacenter_of(
                    _ref_value(props.get('parent'))),
                drained=bool(marks.mark_of(
                    bulk_soap.as_list(props.get('customValue')),
                    self._mark_key)))
        if type_ == 'HostSystem':
            parent = props.get('parent')
            runtime = props.get('runtime') or {}
            cluster = (parent[1] if isinstance(parent, tuple) and
                       parent[0] == 'ClusterComputeResource' else None)
            return model.Host(
                ref=ref, name=props.get('name', ''), cluster=cluster,
                connection_state=runtime.get('connectionState') or 'connected',
                in_maintenance=_bool(runtime.get('inMaintenanceMode')))
        if type_ == 'ClusterComputeResource':
            return model.Cluster(
                ref=ref, name=props.get('name', ''),
                datacenter=self._datacenter_of(
                    _ref_value(props.get('parent'))),
                hosts=tuple(_ref_value(h) for h in
                            bulk_soap.as_list(props.get('host'))),
                resource_pool=_ref_value(props.get('resourcePool')),
                failover_hosts=_failover_hosts(props.get('configurationEx')))
        return None

    def _drain_key(self):
        entry = self._objects.get(self._fields_manager)
        if entry is None:
            return None
        return marks.drain_key(bulk_soap.as_list(entry[1].get('field')))

    def _inventory(self):
        if self._snapshot is not None:
            return self._snapshot
        # A rename or move of a folder or datacenter changes the
        # datacenter of everything below it; a new attribute definition
        # the drain mark's key.
        folders_changed = any(self._objects.get(ref, ('',))[0] in (
            'Folder', 'Datacenter', marks.MANAGER_TYPE)
            for ref in self._dirty)
        if folders_changed:
            self._dirty.update(self._objects)
        self._mark_key = self._drain_key()
        for ref in self._dirty:
            entry = self._objects.get(ref)
            if entry is not None:
                converted = self._convert(ref, *entry)
                if converted is not None:
                    self._converted[ref] = converted
        self._dirty.clear()
        inv = model.Inventory()
        for ref, obj in self._converted.items():
            if isinstance(obj, model.Datastore):
                inv.datastores[ref] = obj
            elif isinstance(obj, model.Host):
                inv.hosts[ref] = obj
            elif isinstance(obj, model.Cluster):
                inv.clusters[ref] = obj
        self._snapshot = inv
        return inv
