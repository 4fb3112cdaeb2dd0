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
"""The flows of the fault matrix: each a setup and one driver call.

A flow belongs to a group; a group is one simulator (its topology) with
the drivers its flows use (``Group.start``).  ``Flow.setup(case)`` makes
the objects the call needs (Cinder volumes, snapshots, disks with a
pattern written into them), none of it traced or faulted; ``Flow.run``
is the one driver call whose vCenter calls the matrix faults.  Setups
hand out fresh objects every time, so a case never sees another's.
"""

import collections
import re

from oslo_utils import units
from oslo_vmware import exceptions as vexc

from tests.functional import driver_fixtures as df
from tests.functional.matrix import world
from tests import simulator as vcsim

GiB = units.Gi
PROJECT = 'demo-project'
BACKEND = 'functional@vmware'


# --- groups ------------------------------------------------------------------

def _topology(n):
    """Make the matrix's topology: pools gold and silver.

    Pools gold (esx-01, esx-02 on ds-gold) and silver (esx-03 on
    ds-silver); powered-on instance VMs nova-N for online extends.
    """
    gold = [{'host': 'esx-01'}, {'host': 'esx-02'}]
    return {'datacenters': [{
        'name': 'DC1',
        'clusters': [
            {'name': 'gold', 'hosts': [{'name': 'esx-01'},
                                       {'name': 'esx-02'}]},
            {'name': 'silver', 'hosts': [{'name': 'esx-03'}]}],
        'datastores': [
            {'name': 'ds-gold', 'type': 'VMFS', 'capacity_gb': 8000,
             'free_gb': 7900, 'mounts': gold},
            {'name': 'ds-silver', 'type': 'NFS', 'capacity_gb': 8000,
             'free_gb': 7900, 'mounts': [{'host': 'esx-03'}]}],
        'vms': [
            {'name': 'nova-%d' % i, 'host': 'esx-01',
             'power_state': 'poweredOn',
             'disks': [{'datastore': 'ds-gold',
                        'path': 'nova-%d/nova-%d.vmdk' % (i, i),
                        'capacity_gb': 1, 'thin': True}]}
            for i in range(n['nova'])],
    }]}


# Instance VMs the topology holds (Group.take fails with a clear message
# when they run out); loose disks and VMs with a disk are made when a
# case needs one (Group.spare_disk, Group.spare_vm).
SPARES = {'nova': 25}
POOLS = ['gold', 'silver']

# One group (one simulator) for every flow: each simulator costs its
# start and the WSDL parses of its sessions (seconds each).
GROUPS = {
    # name: (topology(spare counts), {driver name: options})
    'all': (_topology, {
        # Lazy create, the default: a volume's backing is made at its
        # first attach (Case.created_volume), as in most deployments.
        'default': dict(vmware_cluster_name=POOLS, vmware_lazy_create=True),
        'template': dict(vmware_cluster_name=POOLS, vmware_lazy_create=True,
                         vmware_snapshot_format='template'),
        # Eager create: create_volume makes the backing (flow
        # 'create-eager').
        'eager': dict(vmware_cluster_name=POOLS, vmware_lazy_create=False)}),
}
# What a host attaching a volume gives initialize_connection (no Nova
# instance: the backing is made where the volume's pool puts it).
CONNECTOR = {'platform': 'x86_64', 'os_type': 'linux', 'host': 'compute-1',
             'ip': '192.0.2.10', 'multipath': False}


class Group(object):
    """Run one group's simulator with its drivers and session.

    A running simulator of one group, its drivers and an inventory
    session; hands out the topology's spare disks and VMs.
    """

    def __init__(self, name, sim, drivers, inv):
        self.name, self.sim, self.drivers, self.inv = (
            name, sim, drivers, inv)
        self._taken = collections.Counter()
        self.counts = {}

    @classmethod
    def start(cls, name, workdir, counts=None):
        """``counts``: how many of each spare kind the topology holds."""
        topology, driver_options = GROUPS[name]
        counts = dict(SPARES, **(counts or {}))
        sim = vcsim.Simulator.start(topology(counts), workdir=workdir)
        drivers, inv = {}, None
        try:
            inv = df.Inventory(sim)
            for key, options in driver_options.items():
                drivers[key] = df.make_driver(sim, **options)
        except Exception:
            cls(name, sim, drivers, inv).stop()
            raise
        group = cls(name, sim, drivers, inv)
        group.counts = dict(counts)
        group.warm_up()
        return group

    def warm_up(self):
        """Make what only the first create makes.

        What only the first create makes (the volume folders, ...),
        made before any flow is traced.
        """
        ctx = df.admin_context()
        for drv in self.drivers.values():
            for pool in POOLS:
                vol = df.new_volume(ctx, project_id=PROJECT,
                                    host='%s#%s' % (BACKEND, pool))
                drv.create_volume(vol)
                attach(drv, vol)
                snap = df.new_snapshot(ctx, vol)
                save(snap, drv.create_snapshot(snap))

    def stop(self):
        for drv in self.drivers.values():
            df.close_driver(drv)
        if self.inv is not None:
            self.inv.close()
        self.sim.stop()

    def spare_disk(self, datastore, folder):
        """A new loose 1 GiB thin disk '[ds] folder-N/disk.vmdk'."""
        number = self._taken[folder]
        self._taken[folder] += 1
        return self._new_disk('[%s] %s-%d/disk.vmdk'
                              % (datastore, folder, number))

    def _new_disk(self, path):
        """Make a disk through the inventory session.

        Make a disk through the inventory session (no case traces or
        faults it).
        """
        session = self.inv.session
        vim = session.vim
        dc = self.inv.by_name('Datacenter', 'DC1')
        try:
            session.invoke_api(vim, 'MakeDirectory',
                               vim.service_content.fileManager,
                               name=path.rsplit('/', 1)[0], datacenter=dc,
                               createParentDirectories=True)
        except vexc.FileAlreadyExistsException:
            pass  # a shared folder (cinder_temp)
        spec = vim.client.factory.create('ns0:FileBackedVirtualDiskSpec')
        spec.diskType, spec.adapterType = 'thin', 'lsiLogic'
        spec.capacityKb = 1024 * 1024
        task = session.invoke_api(vim, 'CreateVirtualDisk_Task',
                                  vim.service_content.virtualDiskManager,
                                  name=path, datacenter=dc, spec=spec)
        session.wait_for_task(task)
        return path

    def spare_vm(self, datastore='ds-gold', cluster='gold', name=None):
        """Make a powered-off VM with one thin disk.

        A new powered-off VM (``name``, default 'vm-off-N') with one 1 GiB
        thin disk on ``datastore``: (name, disk path).
        """
        if name is None:
            number = self._taken['vm-off']
            self._taken['vm-off'] += 1
            name = 'vm-off-%d' % number
        path = self._new_disk('[%s] %s/%s.vmdk' % (datastore, name, name))
        session, inv = self.inv.session, self.inv
        vim = session.vim
        dc = inv.by_name('Datacenter', 'DC1')
        factory = vim.client.factory
        controller = factory.create('ns0:VirtualLsiLogicController')
        controller.key, controller.busNumber = 1000, 0
        controller.sharedBus = 'noSharing'
        disk = factory.create('ns0:VirtualDisk')
        disk.key, disk.controllerKey, disk.unitNumber = 2000, 1000, 0
        disk.capacityInKB = 1024 * 1024
        backing = factory.create('ns0:VirtualDiskFlatVer2BackingInfo')
        backing.fileName, backing.diskMode = path, 'persistent'
        backing.thinProvisioned = True
        disk.backing = backing
        changes = []
        for device in (controller, disk):
            change = factory.create('ns0:VirtualDeviceConfigSpec')
            change.operation, change.device = 'add', device
            changes.append(change)
        config = factory.create('ns0:VirtualMachineConfigSpec')
        config.name, config.guestId = name, 'otherGuest'
        files = factory.create('ns0:VirtualMachineFileInfo')
        files.vmPathName = '[%s] %s/%s.vmx' % (datastore, name, name)
        config.files = files
        config.deviceChange = changes
        pool = inv.prop(inv.by_name('ClusterComputeResource', cluster),
                        'resourcePool')
        task = session.invoke_api(vim, 'CreateVM_Task',
                                  inv.prop(dc, 'vmFolder'), config=config,
                                  pool=pool)
        session.wait_for_task(task)
        return name, path

    def finish(self, case):
        """Run ``case.cleanups``, once the case is judged.

        State a flow changed that other flows read (a drain mark).
        """
        for cleanup in case.cleanups:
            cleanup()

    def cleanup(self, case):
        """Unregister the VMs a case made or used.

        Unregister the VMs a case made or used (their files stay), so
        that the inventory every flow reads stays small.
        """
        names = [n for n in case.roles.values() if n]
        if not names:
            return
        # nova-1 names nova-1, not nova-10.
        mine = re.compile('|'.join(re.escape(n) + '(?![0-9])'
                                   for n in names))
        session = self.inv.session
        for vm in self.inv.listing('VirtualMachine'):
            if mine.search(vm['name']):
                ref = session.vim.client.factory.create(
                    'ns0:ManagedObjectReference')
                ref._type, ref.value = 'VirtualMachine', vm['_ref']
                if vm['powered_on']:
                    session.wait_for_task(session.invoke_api(
                        session.vim, 'PowerOffVM_Task', ref))
                session.invoke_api(session.vim, 'UnregisterVM', ref)

    def take(self, kind):
        number = self._taken[kind]
        self._taken[kind] += 1
        assert number < self.counts[kind], (
            'the %s topology has no spare %r left' % (self.name, kind))
        return number


# --- a case's objects --------------------------------------------------------

class Case(object):
    """The objects one run of a flow works on, and what the run did."""

    def __init__(self, group):
        self.group = group
        self.sim, self.inv = group.sim, group.inv
        self.ctx = df.admin_context()
        self.roles = {}        # role -> Cinder id, for world.Names
        self.patterns = {}     # role -> bytes written for it
        self.names = []        # what an error should name (ids, paths)
        self.objects = {}      # role -> Cinder object
        self.cleanups = []     # callables run after the case is judged

    def driver(self, key='default'):
        return self.group.drivers[key]

    def volume(self, role, pool='gold', size=1, **specs):
        vol = df.new_volume(self.ctx, size=size,
                            type_id=df.volume_type(self.ctx, **specs),
                            project_id=PROJECT,
                            host='%s#%s' % (BACKEND, pool))
        self._add(role, vol)
        return vol

    def created_volume(self, role, key='default', **kw):
        """A volume with a backing whose disk holds ``role``'s pattern.

        Created as Cinder creates it, then attached once (a lazily
        created volume gets its backing there), then written.
        """
        vol = self.volume(role, **kw)
        drv = self.driver(key)
        drv.create_volume(vol)
        attach(drv, vol)
        self.write(role, self.local_disk(vol))
        return vol

    def snapshot(self, role, volume, key='default'):
        snap = df.new_snapshot(self.ctx, volume)
        self._add(role, snap)
        update = self.driver(key).create_snapshot(snap)
        save(snap, update)
        return snap

    def _add(self, role, obj):
        self.roles[role] = obj.id
        self.objects[role] = obj
        self.names += [obj.id, obj.name]

    def write(self, role, local):
        """Write ``role``'s pattern (unique to this case) into a disk."""
        seed = 'matrix:%s:%s' % (role, local)
        self.patterns[role] = world.write_pattern(
            local, seed, self.sim.datastore_root)

    def local_disk(self, volume):
        vm = self.inv.vm(volume.name)
        assert vm is not None, volume.name
        return self.inv.local_path(self.inv.disk(vm).backing.fileName)


def attach(drv, volume):
    """Attach and detach ``volume`` as a host does.

    The first attach of a lazily created volume makes its backing.
    """
    df.first_attach(drv, volume, CONNECTOR)


def save(obj, update):
    if update:
        obj.update(update)
        obj.save()


class Flow(object):
    def __init__(self, name, group, setup, run):
        self.name, self.group, self.setup, self.run = name, group, setup, run


FLOWS = collections.OrderedDict()


def flow(name, group):
    def register(setup):
        FLOWS[name] = Flow(name, group, setup, lambda case: case.call())
        return setup
    return register


# --- takeover ----------------------------------------------------------------

def loose_disk(case, datastore, folder):
    """A new loose disk holding the 'disk' pattern; its folder: 'spare'."""
    path = case.group.spare_disk(datastore, folder)
    case.roles['spare'] = path.split('] ')[1].split('/')[0]
    case.write('disk', case.inv.local_path(path))
    case.names.append(path)
    return path


def _attached(case):
    name, path = case.group.spare_vm()
    case.roles['spare'] = name
    case.write('disk', case.inv.local_path(path))
    case.names += [path, name]
    return path + '@DC1/vm/' + name


def _manage(case, ref, pool='gold'):
    vol = case.volume('vol', pool=pool)
    drv = case.driver()
    case.call = lambda: save(vol, drv.manage_existing(
        vol, {'source-name': ref}))


@flow('manage-loose', 'all')
def manage_loose(case):
    _manage(case, loose_disk(case, 'ds-gold', 'loose'))


@flow('manage-attached', 'all')
def manage_attached(case):
    _manage(case, _attached(case))


@flow('manage-copied', 'all')
def manage_copied(case):
    _manage(case, loose_disk(case, 'ds-silver', 'far'))


def _unmanage(case, ref):
    _manage(case, ref)
    case.call()
    vol, drv = case.objects['vol'], case.driver()
    case.call = lambda: drv.unmanage(vol)


@flow('unmanage-loose', 'all')
def unmanage_loose(case):
    _unmanage(case, loose_disk(case, 'ds-gold', 'loose'))


@flow('unmanage-attached', 'all')
def unmanage_attached(case):
    _unmanage(case, _attached(case))


# --- create, first attach ----------------------------------------------------

@flow('create-eager', 'all')
def create_eager(case):
    vol = case.volume('vol')
    drv = case.driver('eager')
    case.call = lambda: save(vol, drv.create_volume(vol))


@flow('attach-lazy', 'all')
def attach_lazy(case):
    # Created lazily (no backing yet): the first attach makes it.
    vol = case.volume('vol')
    drv = case.driver()
    drv.create_volume(vol)
    case.call = lambda: drv.initialize_connection(vol, CONNECTOR)


# --- snapshots, revert, clones -----------------------------------------------

def _snapshot_flow(key):
    def setup(case):
        src = case.created_volume('src', key=key)
        snap = df.new_snapshot(case.ctx, src)
        case._add('snap', snap)
        drv = case.driver(key)
        case.call = lambda: save(snap, drv.create_snapshot(snap))
    return setup


flow('snapshot-cow', 'all')(_snapshot_flow('default'))
flow('snapshot-template', 'all')(_snapshot_flow('template'))


def _delete_snapshot_flow(key):
    def setup(case):
        src = case.created_volume('src', key=key)
        snap = case.snapshot('snap', src, key=key)
        drv = case.driver(key)
        case.call = lambda: drv.delete_snapshot(snap)
    return setup


flow('delete-snapshot-cow', 'all')(_delete_snapshot_flow('default'))
flow('delete-snapshot-template', 'all')(
    _delete_snapshot_flow('template'))


def _revert_flow(key):
    def setup(case):
        src = case.created_volume('src', key=key)
        snap = case.snapshot('snap', src, key=key)
        # Written after the snapshot: what the revert throws away.
        case.write('later', case.local_disk(src))
        drv = case.driver(key)
        case.call = lambda: drv.revert_to_snapshot(case.ctx, src, snap)
    return setup


flow('revert-cow', 'all')(_revert_flow('default'))
flow('revert-template', 'all')(_revert_flow('template'))


def _clone_flow(clone_type):
    def setup(case):
        src = case.created_volume('src')
        vol = case.volume('vol', clone_type=clone_type)
        drv = case.driver()
        case.call = lambda: save(vol, drv.create_cloned_volume(vol, src))
    return setup


flow('clone-full', 'all')(_clone_flow('full'))
flow('clone-linked', 'all')(_clone_flow('linked'))


def _from_snapshot_flow(clone_type):
    def setup(case):
        src = case.created_volume('src')
        snap = case.snapshot('snap', src)
        vol = case.volume('vol', clone_type=clone_type)
        drv = case.driver()
        case.call = lambda: save(vol, drv.create_volume_from_snapshot(
            vol, snap))
    return setup


flow('from-snapshot-full', 'all')(_from_snapshot_flow('full'))
flow('from-snapshot-linked', 'all')(_from_snapshot_flow('linked'))


@flow('extend-linked', 'all')
def extend_linked(case):
    src = case.created_volume('src')
    snap = case.snapshot('snap', src)
    vol = case.volume('vol', clone_type='linked')
    drv = case.driver()
    save(vol, drv.create_volume_from_snapshot(vol, snap))
    case.write('clone', case.local_disk(vol))
    case.call = lambda: drv.extend_volume(vol, 2)


# --- extend, migrate, retype -------------------------------------------------

@flow('extend-offline', 'all')
def extend_offline(case):
    vol = case.created_volume('vol')
    drv = case.driver()
    case.call = lambda: drv.extend_volume(vol, 2)


@flow('extend-online', 'all')
def extend_online(case):
    from cinder import objects
    vol = case.created_volume('vol')
    instance = 'nova-%d' % case.group.take('nova')
    case.roles['spare'] = instance
    uuid = _nova_attach(case.inv, instance, vol)
    attachment = objects.VolumeAttachment(
        case.ctx, volume_id=vol.id, instance_uuid=uuid,
        attached_host='compute-1', mountpoint='/dev/sdb',
        attach_status='attached', attach_mode='rw')
    attachment.create()
    vol.status, vol.attach_status = 'in-use', 'attached'
    vol.save()
    vol = objects.Volume.get_by_id(case.ctx, vol.id)
    drv = case.driver()
    case.names.append(instance)
    case.call = lambda: drv.extend_volume(vol, 2)


def _nova_attach(inv, instance, volume):
    """Attach a volume's disk to an instance VM as Nova does.

    Attach the volume's disk to an instance VM as Nova's VMware driver
    does (a second disk, ``volume-<id>`` in extraConfig).
    """
    session = inv.session
    factory = session.vim.client.factory
    vm = inv.vm(instance)
    disk = inv.disk(inv.vm(volume.name))
    own = inv.disk(vm)
    backing = factory.create('ns0:VirtualDiskFlatVer2BackingInfo')
    backing.fileName = disk.backing.fileName
    backing.diskMode = 'persistent'
    # The backing VM holds the disk too: vCenter refuses a second VM the
    # file (FileLocked) unless the disk is multi-writer.
    backing.sharing = 'sharingMultiWriter'
    device = factory.create('ns0:VirtualDisk')
    device.key = -101
    device.controllerKey = own.controllerKey
    device.unitNumber = own.unitNumber + 1
    device.capacityInKB = disk.capacityInKB
    device.backing = backing
    dev_spec = factory.create('ns0:VirtualDeviceConfigSpec')
    dev_spec.operation = 'add'
    dev_spec.device = device
    extra = factory.create('ns0:OptionValue')
    extra.key = 'volume-%s' % volume.id
    extra.value = disk.backing.uuid
    spec = factory.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = [dev_spec]
    spec.extraConfig = [extra]
    task = session.invoke_api(session.vim, 'ReconfigVM_Task', vm, spec=spec)
    session.wait_for_task(task)
    return inv.prop(vm, 'config.instanceUuid')


def _target(drv, pool):
    """The ``host`` argument Cinder passes: the pool's reported stats."""
    stats = drv.get_volume_stats(refresh=True)
    (caps,) = [p for p in stats['pools'] if p['pool_name'] == pool]
    return {'host': '%s#%s' % (BACKEND, pool), 'cluster_name': None,
            'capabilities': dict(caps, volume_backend_name=stats[
                'volume_backend_name'])}


@flow('migrate', 'all')
def migrate(case):
    vol = case.created_volume('vol')
    drv = case.driver()
    host = _target(drv, 'silver')

    def call():
        moved, update = drv.migrate_volume(case.ctx, vol, host)
        assert moved, 'the driver left the migration to Cinder'
        save(vol, update)
    case.call = call


@flow('retype', 'all')
def retype(case):
    from cinder.volume import volume_types
    vol = case.created_volume('vol')
    drv = case.driver()
    host = _target(drv, 'silver')
    new_type_id = df.volume_type(case.ctx, vmdk_type='thick')
    diff, _same = volume_types.volume_types_diff(
        case.ctx, vol.volume_type_id, new_type_id)
    new_type = volume_types.get_volume_type(case.ctx, new_type_id)

    def call():
        done = drv.retype(case.ctx, vol, new_type, diff, host)
        assert done, 'the driver left the retype to Cinder'
    case.call = call


def group_flows(group):
    return [f for f in FLOWS.values() if f.group == group]
