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
"""Discovering the VMDKs reachable from a backend's pools.

Two questions to vCenter, whatever the number of disks: one
PropertyCollector pass over every VM, folder, datacenter and datastore,
and one datastore-browser search per reachable datastore, all started
before any is awaited.  The answers become ``records.DiskRecord`` objects
that the pure ``safety`` module judges.
"""

import collections
import dataclasses
import re
import time

from oslo_log import log as logging
from oslo_vmware import vim_util

from cinder_vmware_ext.takeover import records
from cinder_vmware_ext.takeover import references
from cinder_vmware_ext.vsphere import bulk_soap
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import search as vsearch

LOG = logging.getLogger(__name__)

VOLUME_ID_KEY = 'cinder.volume.id'   # upstream's EXTRA_CONFIG_VOLUME_ID_KEY

PROPERTIES = {
    'VirtualMachine': ['name', 'parent', 'runtime.powerState',
                       'config.hardware.device', 'config.extraConfig',
                       'config.template', 'snapshot'],
    'Folder': ['name', 'parent'],
    'Datacenter': ['name', 'parent'],
    'Datastore': ['name', 'browser', 'parent'],
}

_DS_PATH = re.compile(r'^\[(?P<ds>[^\]]+)\]\s*/?(?P<path>.*)$')


@dataclasses.dataclass
class Result:
    """What a discovery found, and how long each question took."""

    disks: list
    errors: dict
    seconds: dict


def split_ds_path(ds_path):
    """``[ds] a/b.vmdk`` -> ("ds", "a/b.vmdk")."""
    match = _DS_PATH.match(ds_path or '')
    if not match:
        return None, ds_path
    return match.group('ds'), match.group('path').strip('/')


# -- the pools' side ----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Scope:
    """The datastores discovery looks at and the pool of each."""

    reachable: dict      # datastore ref -> model.Datastore
    pool_of: dict        # datastore ref -> pool name
    backend: str         # host@backend

    def host_of(self, pool):
        return '%s#%s' % (self.backend, pool) if pool else None


def scope_of(inventory, pools, backend):
    """Datastores mounted on any host of the pools' clusters.

    Those in no pool (excluded by a regex, a type or a profile) are still
    listed, as not safe, so the operator sees why they are left out.
    """
    hosts = set()
    pool_of = {}
    for pool in pools:
        hosts.update(pool.cluster.hosts if pool.cluster else pool.host_refs)
        for ds in pool.datastores:
            pool_of.setdefault(ds.ref, pool.name)
    reachable = {ref: ds for ref, ds in inventory.datastores.items()
                 if ref in pool_of or
                 not ds.mounts.mounted.isdisjoint(hosts)}
    return Scope(reachable, pool_of, backend)


# -- VMs and their disks ------------------------------------------------------

def _inventory_path(ref_value, objects):
    names = []
    while ref_value in objects:
        ref, props = objects[ref_value]
        names.append(props.get('name', ''))
        if ref._type == 'Datacenter':
            return '/'.join(reversed(names))
        parent = props.get('parent')
        ref_value = vim_util.get_moref_value(parent) if parent else None
    return '/'.join(reversed(names))


def _snapshot_names(snapshot_info):
    names = []

    def walk(trees):
        for tree in trees or []:
            names.append(tree.name)
            walk(getattr(tree, 'childSnapshotList', None))
    if snapshot_info is not None:
        walk(getattr(snapshot_info, 'rootSnapshotList', None))
    return tuple(names)


def extra_config(props):
    options = retrieve.items(props.get('config.extraConfig'), 'OptionValue')
    return {o.key: o.value for o in options}


def _shared_controllers(devices):
    return {d.key for d in devices
            if getattr(d, 'sharedBus', 'noSharing') not in
            (None, 'noSharing')}


def _parent_files(backing):
    files = []
    parent = getattr(backing, 'parent', None)
    while parent is not None:
        files.append(parent.fileName)
        parent = getattr(parent, 'parent', None)
    return tuple(files)


@dataclasses.dataclass(frozen=True)
class VmDisk:
    """A VirtualDisk device of a VM, with what the takeover needs."""

    vm: records.AttachedVm
    file_name: str
    datastore_ref: str
    capacity_bytes: int
    thin: bool
    uuid: str
    sharing: str
    parents: tuple


def vm_disks(objects):
    """Every VirtualDisk of every VM in ``objects`` (a retrieve() result)."""
    found = []
    for value, (ref, props) in objects.items():
        if ref._type != 'VirtualMachine':
            continue
        devices = retrieve.items(props.get('config.hardware.device'),
                                 'VirtualDevice')
        shared = _shared_controllers(devices)
        extra = extra_config(props)
        vm_base = dict(
            ref=value, name=props.get('name', value),
            power_state=str(props.get('runtime.powerState') or
                            records.POWERED_OFF),
            inventory_path=_inventory_path(value, objects),
            snapshots=_snapshot_names(props.get('snapshot')),
            cinder_volume_id=extra.get(VOLUME_ID_KEY) or None,
            template=bool(props.get('config.template')))
        for device in devices:
            if device.__class__.__name__ != 'VirtualDisk':
                continue
            found.append(_vm_disk(vm_base, device, shared))
    return [d for d in found if d is not None]


def _vm_disk(vm_base, device, shared_controllers):
    backing = device.backing
    file_name = getattr(backing, 'fileName', None)
    if not file_name:
        return None
    sharing = getattr(backing, 'sharing', None) or 'sharingNone'
    if device.controllerKey in shared_controllers:
        sharing = 'sharedBus'
    capacity = getattr(device, 'capacityInBytes', None) or \
        int(device.capacityInKB) * 1024
    vm = records.AttachedVm(
        device_key=device.key, controller_key=device.controllerKey,
        unit_number=getattr(device, 'unitNumber', 0) or 0, **vm_base)
    datastore = getattr(backing, 'datastore', None)
    return VmDisk(vm, file_name,
                  vim_util.get_moref_value(datastore) if datastore else '',
                  int(capacity), bool(getattr(backing, 'thinProvisioned',
                                              False)),
                  getattr(backing, 'uuid', None), sharing,
                  _parent_files(backing))


# -- files on datastores ------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FoundFile:
    datastore: str
    path: str
    is_descriptor: bool
    capacity_bytes: int = 0
    thin: bool = None
    is_delta: bool = False
    extents: tuple = ()


def _found_file(datastore, folder, info):
    name = info.path
    if not name.lower().endswith('.vmdk') or references.is_extent_name(name):
        return None
    path = '%s/%s' % (folder, name) if folder else name
    if info.__class__.__name__ != 'VmDiskFileInfo':
        return FoundFile(datastore, path, is_descriptor=False)
    extents = [str(e) for e in getattr(info, 'diskExtents', None) or []]
    is_delta = (any(references.is_extent_name(e) and
                    not e.lower().endswith('-flat.vmdk') for e in extents) or
                'Sparse' in (getattr(info, 'diskType', '') or ''))
    thin = getattr(info, 'thin', None)
    return FoundFile(datastore, path, True,
                     int(getattr(info, 'capacityKb', 0) or 0) * 1024,
                     None if thin is None else bool(thin), is_delta,
                     tuple(extents))


def _extent_file(found, extent):
    """Return a descriptor's extent file, or why it is not plain.

    '[ds] folder/name' of a descriptor's extent when it is a plain file
    beside the descriptor, else (None, why not).
    """
    folder = found.path.rsplit('/', 1)[0] if '/' in found.path else ''
    datastore, path = found.datastore, extent
    if extent.startswith('['):
        # vCenter may give extents as datastore paths.
        datastore, path = split_ds_path(extent)
        here = path.rsplit('/', 1)[0] if '/' in path else ''
        if datastore != found.datastore or here != folder:
            return None, 'its extent %s is not beside it' % extent
        path = path.rsplit('/', 1)[-1]
    if not path or '/' in path or '\\' in path or path in ('.', '..'):
        return None, ('its extent "%s" is not a plain file name beside '
                      'it' % extent)
    return '[%s] %s' % (datastore, '%s/%s' % (folder, path) if folder
                        else path), None


def untrusted_descriptors(files):
    """List the descriptors not to manage, with the reason.

    {'[ds] path': why} of descriptors not to manage: an extent that is
    no plain file beside the descriptor, or is another descriptor, or is
    named by another descriptor too (managing either would give one
    disk's bytes to two).
    """
    why = {}
    owners = collections.defaultdict(list)
    descriptors = {'[%s] %s' % (f.datastore, f.path) for f in files
                   if f.is_descriptor}
    for found in files:
        if not found.is_descriptor:
            continue
        ds_path = '[%s] %s' % (found.datastore, found.path)
        for extent in found.extents:
            target, problem = _extent_file(found, extent)
            if problem is None and target in descriptors:
                problem = 'its extent %s is a disk descriptor' % extent
            if problem:
                why.setdefault(ds_path, problem)
            else:
                owners[target].append(ds_path)
    for target, names in owners.items():
        for name in names:
            others = [n for n in names if n != name]
            if others:
                why.setdefault(name, 'its data file %s is also named by %s'
                               % (target, ', '.join(sorted(others))))
    return why


def found_files(search_results):
    """FoundFile per *.vmdk descriptor (or non-disk .vmdk) searched."""
    files = []
    for datastore, results in search_results.items():
        for result in results:
            _ds, folder = split_ds_path(result.folderPath)
            for info in getattr(result, 'file', None) or []:
                found = _found_file(datastore, folder.strip('/'), info)
                if found:
                    files.append(found)
    return files


# -- putting it together ------------------------------------------------------

def merge(scope, disks_of_vms, files):
    """DiskRecords: one per VM disk and one per file no VM uses."""
    ds_by_name = {ds.name: ref for ref, ds in scope.reachable.items()}
    users = collections.defaultdict(list)
    # A snapshot's disk is no longer the VM's device (a delta on it is),
    # but it still belongs to that VM and its snapshot tree.
    chain = {}
    for disk in disks_of_vms:
        users[disk.file_name].append(disk.vm.name)
        chain.update((parent, disk.vm) for parent in disk.parents)
    untrusted = untrusted_descriptors(files)
    result = []
    for disk in disks_of_vms:
        datastore, path = split_ds_path(disk.file_name)
        ref = disk.datastore_ref or ds_by_name.get(datastore, '')
        if ref not in scope.reachable:
            continue
        result.append(_record(
            scope, ref, datastore, path, vm=disk.vm,
            capacity_bytes=disk.capacity_bytes, thin=disk.thin,
            uuid=disk.uuid, sharing=disk.sharing, parents=disk.parents,
            is_delta=bool(disk.parents),
            other_vms=tuple(n for n in users[disk.file_name]
                            if n != disk.vm.name),
            cinder_id=disk.vm.cinder_volume_id,
            untrusted=untrusted.get(disk.file_name)))
    for found in files:
        ds_path = '[%s] %s' % (found.datastore, found.path)
        if ds_path in users:
            continue
        ref = ds_by_name.get(found.datastore, '')
        result.append(_record(
            scope, ref, found.datastore, found.path,
            capacity_bytes=found.capacity_bytes, thin=found.thin,
            is_descriptor=found.is_descriptor, is_delta=found.is_delta,
            in_snapshot_chain=ds_path in chain, vm=chain.get(ds_path),
            untrusted=untrusted.get(ds_path)))
    return result


def _record(scope, ds_ref, datastore, path, **fields):
    pool = scope.pool_of.get(ds_ref)
    return records.DiskRecord(
        datastore=datastore, path=path, datastore_ref=ds_ref, pool=pool,
        in_pools=pool is not None, backend_host=scope.host_of(pool),
        **fields)


def with_loose_uuids(session, disks, objects):
    """Add their UUIDs to the loose disks.

    Loose disks with their UUIDs (one QueryVirtualDiskUuid each: the
    datastore search does not return them).
    """
    result = []
    for disk in disks:
        if disk.vm is None and disk.is_descriptor and not disk.uuid:
            dc = retrieve.datacenter_of(disk.datastore_ref, objects)
            try:
                uuid = references.normalize_uuid(
                    vdisks.uuid(session, dc, disk.ds_path))
                disk = dataclasses.replace(disk, uuid=uuid)
            except Exception as err:
                LOG.warning('No UUID for %s: %s', disk.ds_path, err)
        result.append(disk)
    return result


def browsers_of(scope, objects):
    """{datastore name: browser} of the scope's accessible datastores."""
    browsers = {}
    for ref in scope.reachable:
        entry = objects.get(ref)
        ds = scope.reachable[ref]
        if entry and entry[1].get('browser') and ds.accessible:
            browsers[ds.name] = entry[1]['browser']
    return browsers


def search(session, browsers):
    """({datastore: [search results]}, {datastore: error}), concurrently."""
    searched, errors = vsearch.search_datastores(session, browsers)
    for name, message in errors.items():
        LOG.warning('Could not search datastore %s for disks: %s', name,
                    message)
    return searched, errors


def discover(session, scope, with_uuids=False):
    """Every VMDK on the scope's datastores and every VM disk there."""
    seconds = {}
    started = time.monotonic()
    objects = bulk_soap.retrieve(session, PROPERTIES)
    seconds['properties'] = time.monotonic() - started
    browsers = browsers_of(scope, objects)
    started = time.monotonic()
    searched, errors = search(session, browsers)
    seconds['search'] = time.monotonic() - started
    disks = merge(scope, vm_disks(objects), found_files(searched))
    if with_uuids:
        started = time.monotonic()
        disks = with_loose_uuids(session, disks, objects)
        seconds['uuids'] = time.monotonic() - started
    LOG.info('Discovered %d disks on %d datastores in %.2fs.', len(disks),
             len(browsers), sum(seconds.values()))
    return Result(disks, errors, seconds)
