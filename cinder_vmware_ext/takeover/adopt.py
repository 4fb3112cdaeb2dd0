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
from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.takeover import references
from cinder_vmware_ext.vsphere import backings
from cinder_vmware_ext.vsphere import devices
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import search

LOG = logging.getLogger(__name__)

ORIGIN_KEY = 'cinder_vmware_ext.takeover.origin'
DISK_BYTES_KEY = 'cinder_vmware_ext.takeover.disk_bytes'
VOLUME_ID_KEY = 'cinder.volume.id'


class Port(object):
    """Define what the takeover needs of the driver.

    What the takeover needs of the driver, and no more: its pools (find,
    place), where a volume's shadow VM goes (resource pool, datacenter,
    volumes folder) and a volume's settings (extraConfig, storage profile,
    adapter type).  The driver builds it (``takeover_port``).
    """

    def __init__(self, session, volumeops, pools, home_for, extra_config,
                 profile_id, adapter_type):
        self.session = session
        self.volumeops = volumeops
        self.pools = pools
        self.home_for = home_for
        self.extra_config = extra_config
        self.profile_id = profile_id
        self.adapter_type = adapter_type


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


def target_for(port, volume, disk, pool_name):
    """Choose the shadow VM's datastore, host, resource pool and folder.

    The disk's own datastore when the pool has it (nothing moves);
    otherwise a datastore of the pool the disk is copied to.
    """
    inventory, pool = port.pools.find(pool_name)
    in_pool = {ds.ref: ds for ds in pool.datastores}
    release = (lambda: None)
    copy_to = None
    datastore = in_pool.get(disk.datastore_ref)
    if datastore is None:
        # The copy's space is promised on the volume's row, so every
        # service sees it while the copy is in flight.
        placed = port.pools.place(pool_name, disk.capacity_bytes,
                                  volume_id=volume['id'])
        datastore, release = placed.choice.datastore, placed.release
        copy_to = volumeops.VirtualDiskPath(
            datastore.name, volume['name'] + '/',
            volume['name']).get_descriptor_ds_file_path()
    host = _writable_host(datastore, pool)
    resource_pool, dc, folder = port.home_for(host, inventory,
                                              volume['project_id'])
    return Target(datastore, vim_util.get_moref(host, 'HostSystem'),
                  resource_pool, folder, dc, copy_to, release)


def _writable_host(datastore, pool):
    hosts = eligibility.writable_hosts(datastore, pool.host_refs)
    return hosts[0] if hosts else sorted(pool.host_refs)[0]


def create_shadow(port, volume, target, disk):
    extra_config = port.extra_config(volume)
    extra_config[ORIGIN_KEY] = origin_of(disk, target.copy_to)
    extra_config[DISK_BYTES_KEY] = str(disk.capacity_bytes)
    return port.volumeops.create_backing_disk_less(
        volume['name'], target.folder, target.resource_pool, target.host,
        target.datastore.name,
        profileId=port.profile_id(volume),
        extra_config=extra_config)


def destroy_shadow(session, backing):
    """Destroy a shadow VM unless it still holds a disk.

    Destroy a shadow VM, but never one still holding a disk: attached
    (vSphere deletes a VM's disks with it) or a file in its home folder
    (destroying the VM deletes the folder).
    """
    held = devices.disks(session, backing)
    if held:
        raise RuntimeError('shadow VM %s still holds %s; left in place'
                           % (vim_util.get_moref_value(backing),
                              [d.backing.fileName for d in held]))
    files = home_disk_files(session, backing)
    if files:
        raise RuntimeError('the folder of shadow VM %s still holds disk '
                           'files %s; left in place (destroying the VM '
                           'would delete them)'
                           % (vim_util.get_moref_value(backing), files))
    backings.destroy(session, backing)


def home_of(session, vm):
    """(datastore name, folder) of a VM's .vmx; folder '' at the root."""
    vmx = retrieve.one(session, vm, 'config.files.vmPathName') or ''
    datastore, rest = discovery.split_ds_path(vmx)
    if datastore is None:
        return None, ''
    return datastore, rest.rsplit('/', 1)[0] if '/' in rest else ''


def _browser(session, vm, datastore):
    """The browser of the VM's datastore named ``datastore``."""
    found = retrieve.of_objects(session, 'Datastore',
                                retrieve.refs(session, vm, 'datastore'),
                                ['name', 'browser'])
    for _ref, props in found.values():
        if props.get('name') == datastore:
            return props['browser']
    raise RuntimeError('VM %s does not use datastore %s; cannot look '
                       'at its files' % (vim_util.get_moref_value(vm),
                                         datastore))


def home_disk_files(session, vm):
    """'[ds] folder/file' of every *.vmdk in a VM's home folder."""
    datastore, folder = home_of(session, vm)
    if not folder:
        return []
    files = search.folder_files(session, _browser(session, vm, datastore),
                                datastore, folder)
    return sorted('[%s] %s/%s' % (datastore, folder, name)
                  for name in files)


def file_exists(session, vm, ds_path):
    """Tell whether a file is on one of the VM's datastores.

    Whether '[ds] folder/file.vmdk' on one of the VM's datastores is
    there.
    """
    datastore, path = discovery.split_ds_path(ds_path)
    folder, _sep, name = path.rpartition('/')
    return name in search.folder_files(
        session, _browser(session, vm, datastore), datastore, folder)


def _attached(session, vm_ref, file_name):
    """Whether the VM has the disk now; None when vCenter cannot say."""
    try:
        return devices.disk_at(session, vm_ref, file_name) is not None
    except Exception as err:
        LOG.warning('Could not read the devices of VM %s: %s',
                    vim_util.get_moref_value(vm_ref), err)
        return None


def detach(session, vm_ref, file_name, missing_ok=False):
    """Take a disk off a VM, keeping its file.

    Take a disk off a VM, keeping its file (with ``missing_ok``, a VM
    without the disk is no error).

    After an error the VM's devices decide: an answer lost after vCenter
    removed the disk (its retry then finds no such device) is success.
    """
    device = devices.disk_at(session, vm_ref, file_name)
    if device is None:
        if missing_ok:
            return
        raise RuntimeError('VM %s no longer has disk %s'
                           % (vim_util.get_moref_value(vm_ref), file_name))
    try:
        devices.reconfigure(session, vm_ref,
                            devices.remove_spec(session, device))
    except Exception as err:
        if _attached(session, vm_ref, file_name) is False:
            LOG.warning('Detaching %s from VM %s answered %s, but the VM no '
                        'longer has it: detached.', file_name,
                        vim_util.get_moref_value(vm_ref), err)
            return
        raise


def attach_at(session, vm_ref, file_name, capacity_bytes, thin,
              controller_key, unit_number):
    """Put a disk file back on a VM at a given slot.

    Put a disk file back on a VM at a given slot (nothing to do when
    the VM has it already: an earlier try's answer was lost).
    """
    if devices.disk_at(session, vm_ref, file_name) is not None:
        return
    spec = devices.add_existing_spec(session, file_name, capacity_bytes,
                                     thin, controller_key, unit_number)
    try:
        devices.reconfigure(session, vm_ref, spec)
    except Exception as err:
        if _attached(session, vm_ref, file_name):
            LOG.warning('Attaching %s to VM %s answered %s, but the VM has '
                        'it: attached.', file_name,
                        vim_util.get_moref_value(vm_ref), err)
            return
        raise


def attach_to_shadow(port, volume, backing, file_name, disk):
    """Attach the existing disk file to the shadow VM.

    Attach the existing file to the shadow VM (upstream's own spec: no
    file operation, so the file is neither created nor resized).
    """
    try:
        port.volumeops.attach_disk_to_backing(
            backing, -(-disk.capacity_bytes // 1024),
            'thin' if disk.thin else 'thick',
            port.adapter_type(volume), port.profile_id(volume), file_name)
    except Exception as err:
        if _attached(port.session, backing, file_name):
            LOG.warning('Attaching %s to shadow VM %s answered %s, but the '
                        'VM has it: attached.', file_name, volume['name'],
                        err)
            return
        raise


def copy_and_verify(session, dc, source, destination, datastore_ref,
                    capacity_bytes):
    """Copy a disk (never overwriting) and check the copy's capacity."""
    vdisks.copy(session, dc, source, destination)
    browser = retrieve.browser_of(session, datastore_ref)
    path = references.parse_datastore_path(destination)
    found = search.search_folder(session, browser, path.datastore,
                                 path.folder, path.file_name)
    infos = [f for r in found.get(path.datastore, [])
             for f in getattr(r, 'file', None) or []]
    copied = int(getattr(infos[0], 'capacityKb', 0) or 0) * 1024 \
        if infos else 0
    if copied != capacity_bytes:
        raise RuntimeError('the copy %s has %d bytes, the source %d'
                           % (destination, copied, capacity_bytes))


def in_home_folder(session, vm, file_name):
    """Tell whether a file lies in the VM's home folder.

    True when a ``[ds] dir/file`` lies in the VM's home folder (the
    folder of its .vmx), which destroying the VM deletes.
    """
    vmx = retrieve.one(session, vm, 'config.files.vmPathName') or ''
    home = vmx.rsplit('/', 1)[0] if '/' in vmx else vmx
    return bool(home) and file_name.rsplit('/', 1)[0] == home


def shadow_extra_config(session, backing):
    return retrieve.extra_config(session, backing)
