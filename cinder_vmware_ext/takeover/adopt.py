"""The steps of managing (adopting) and unmanaging (releasing) a disk.

See ``manage`` for the design.  Each function here is one step; those that
change vCenter return nothing and have an inverse next to them.
"""

import collections
import json

from cinder.volume.drivers.vmware import volumeops
from oslo_log import log as logging
from oslo_vmware import vim_util

from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.takeover import references
from cinder_vmware_ext.takeover import vcenter

LOG = logging.getLogger(__name__)

ORIGIN_KEY = 'cinder_vmware_ext.takeover.origin'
DISK_BYTES_KEY = 'cinder_vmware_ext.takeover.disk_bytes'
VOLUME_ID_KEY = 'cinder.volume.id'


class Target(collections.namedtuple(
        'Target', 'datastore host resource_pool folder dc copy_to release')):
    """Where the shadow VM goes and, if the disk must move, where to."""


def origin_of(disk, copied_to=None):
    """What unmanage needs to give the disk back, as JSON."""
    vm = disk.vm
    return json.dumps({
        'path': disk.ds_path,
        'copied_to': copied_to,
        'capacity_bytes': disk.capacity_bytes,
        'uuid': disk.uuid,
        'vm': None if vm is None else {
            'ref': vm.ref, 'name': vm.name,
            'inventory_path': vm.inventory_path,
            'controller_key': vm.controller_key,
            'unit_number': vm.unit_number},
    }, sort_keys=True)


def target_for(driver, volume, disk, pool_name):
    """Choose the shadow VM's datastore, host, resource pool and folder.

    The disk's own datastore when the pool has it (nothing moves);
    otherwise a datastore of the pool the disk is copied to.
    """
    inventory, pool = driver._pools.find(pool_name)
    in_pool = {ds.ref: ds for ds in pool.datastores}
    release = (lambda: None)
    copy_to = None
    datastore = in_pool.get(disk.datastore_ref)
    if datastore is None:
        placed = driver._pools.place(pool_name, disk.capacity_bytes)
        datastore, release = placed.choice.datastore, placed.release
        copy_to = volumeops.VirtualDiskPath(
            datastore.name, volume['name'] + '/',
            volume['name']).get_descriptor_ds_file_path()
    host = _writable_host(datastore, pool)
    resource_pool = driver._resource_pool_of(host, inventory)
    dc = driver._get_dc(resource_pool)
    folder = driver._get_volume_group_folder(dc, volume['project_id'])
    return Target(datastore, vim_util.get_moref(host, 'HostSystem'),
                  resource_pool, folder, dc, copy_to, release)


def _writable_host(datastore, pool):
    hosts = eligibility.writable_hosts(datastore, pool.host_refs)
    return hosts[0] if hosts else sorted(pool.host_refs)[0]


def create_shadow(driver, volume, target, disk):
    extra_config = driver._get_extra_config(volume)
    extra_config[ORIGIN_KEY] = origin_of(disk, target.copy_to)
    extra_config[DISK_BYTES_KEY] = str(disk.capacity_bytes)
    return driver.volumeops.create_backing_disk_less(
        volume['name'], target.folder, target.resource_pool, target.host,
        target.datastore.name,
        profileId=driver._get_storage_profile_id(volume),
        extra_config=extra_config)


def destroy_shadow(session, backing):
    """Destroy a shadow VM, but never one still holding a disk (vSphere
    would delete the disk with it)."""
    disks = [d for d in vcenter.devices_of(session, backing)
             if d.__class__.__name__ == 'VirtualDisk']
    if disks:
        raise RuntimeError('shadow VM %s still holds %s; left in place'
                           % (vim_util.get_moref_value(backing),
                              [d.backing.fileName for d in disks]))
    vcenter.destroy_vm(session, backing)


def detach(session, vm_ref, file_name):
    """Take a disk off a VM, keeping its file."""
    device = vcenter.disk_device(session, vm_ref, file_name)
    if device is None:
        raise RuntimeError('VM %s no longer has disk %s'
                           % (vim_util.get_moref_value(vm_ref), file_name))
    spec = session.vim.client.factory.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = [vcenter.remove_device_spec(
        session.vim.client.factory, device)]
    vcenter.reconfigure(session, vm_ref, spec)


def attach_at(session, vm_ref, file_name, capacity_bytes, thin,
              controller_key, unit_number):
    """Put a disk file back on a VM at a given controller slot."""
    factory = session.vim.client.factory
    spec = factory.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = [vcenter.existing_disk_spec(
        factory, file_name, capacity_bytes, thin, controller_key,
        unit_number)]
    vcenter.reconfigure(session, vm_ref, spec)


def attach_to_shadow(driver, volume, backing, file_name, disk):
    """Attach the existing file to the shadow VM (upstream's own spec: no
    file operation, so the file is neither created nor resized)."""
    driver.volumeops.attach_disk_to_backing(
        backing, -(-disk.capacity_bytes // 1024),
        'thin' if disk.thin else 'thick',
        driver._get_adapter_type(volume),
        driver._get_storage_profile_id(volume), file_name)


def copy_and_verify(session, dc, source, destination, datastore_ref,
                    capacity_bytes):
    """Copy a disk (never overwriting) and check the copy's capacity."""
    vcenter.copy_disk(session, dc, source, destination)
    browser = session.invoke_api(
        vim_util, 'get_object_property', session.vim,
        vim_util.get_moref(datastore_ref, 'Datastore'), 'browser')
    path = references.parse_datastore_path(destination)
    found = vcenter.search_folder(session, browser, path.datastore,
                                  path.folder, path.file_name)
    infos = [f for r in found.get(path.datastore, [])
             for f in getattr(r, 'file', None) or []]
    copied = int(getattr(infos[0], 'capacityKb', 0) or 0) * 1024 \
        if infos else 0
    if copied != capacity_bytes:
        raise RuntimeError('the copy %s has %d bytes, the source %d'
                           % (destination, copied, capacity_bytes))


def in_home_folder(session, vm, file_name):
    """True when a ``[ds] dir/file`` lies in the VM's home folder (the
    folder of its .vmx), which destroying the VM deletes."""
    vmx = session.invoke_api(vim_util, 'get_object_property', session.vim,
                             vm, 'config.files.vmPathName') or ''
    home = vmx.rsplit('/', 1)[0] if '/' in vmx else vmx
    return bool(home) and file_name.rsplit('/', 1)[0] == home


def shadow_extra_config(session, backing):
    options = vcenter.array(session.invoke_api(
        vim_util, 'get_object_property', session.vim, backing,
        'config.extraConfig'), 'OptionValue')
    return {o.key: o.value for o in options}
