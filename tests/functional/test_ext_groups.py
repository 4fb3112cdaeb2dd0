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
"""Consistent group snapshots (extensions/groups.py) on the simulator.

Lazy create (the default) and template snapshots: two volumes attached to
one simulated instance VM (their backings made at first attach, as Nova's
attach makes them), a marker written into both disks, one group snapshot,
a second marker; volumes made from the group snapshot hold the first and
not the second.  Faults injected while the group snapshot is taken leave
no template, no instance snapshot and the instance's disks as they were.
"""

from cinder import exception
from cinder import objects
from cinder.volume import group_types
from oslo_utils import units
import pytest

from tests.functional import driver_fixtures as df

PROJECT = 'groups-project'
OFFSET = 5 * units.Mi
GOLD = 'functional@vmware#gold'

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [
        {"name": "gold", "hosts": [{"name": "esx-01"}, {"name": "esx-02"}]},
    ],
    "datastores": [
        {"name": "gold-ds", "type": "VMFS", "capacity_gb": 100,
         "free_gb": 80, "mounts": [{"host": "esx-01"}, {"host": "esx-02"}]},
    ],
    "vms": [
        {"name": "nova-01", "host": "esx-01", "power_state": "poweredOn",
         "disks": [{"datastore": "gold-ds", "path": "nova-01/nova-01.vmdk",
                    "capacity_gb": 1, "thin": True}]},
        {"name": "nova-02", "host": "esx-02", "power_state": "poweredOn",
         "disks": [{"datastore": "gold-ds", "path": "nova-02/nova-02.vmdk",
                    "capacity_gb": 1, "thin": True}]},
    ] + [
        # One instance per test below that attaches volumes of its own (an
        # instance's SCSI controller holds 15 disks).
        {"name": name, "host": "esx-01", "power_state": "poweredOn",
         "disks": [{"datastore": "gold-ds",
                    "path": "%s/%s.vmdk" % (name, name),
                    "capacity_gb": 1, "thin": True}]}
        for name in ('nova-cow', 'nova-quiesce')
    ],
}]}


@pytest.fixture(scope='module')
def driver(sim, cinder_db):
    drv = df.make_driver(sim, vmware_lazy_create=True,
                         vmware_snapshot_format='template')
    yield drv
    df.close_driver(drv)


@pytest.fixture(autouse=True)
def no_faults(sim):
    yield
    sim.clear_faults()


# --- helpers -----------------------------------------------------------------

def new_group(ctx, type_id, consistent=True):
    specs = ({'consistent_group_snapshot_enabled': '<is> True'}
             if consistent else {})
    gtype = group_types.create(ctx, 'gt-%s' % type_id[:8] +
                               ('-cg' if consistent else ''), specs)
    group = objects.Group(ctx, group_type_id=gtype['id'],
                          volume_type_ids=[type_id], project_id=PROJECT,
                          user_id='demo-user', status='creating',
                          name='group', host=GOLD)
    group.create()
    group.status = 'available'
    group.save()
    return group


def new_volume(ctx, type_id, group):
    return df.new_volume(ctx, size=1, type_id=type_id, project_id=PROJECT,
                         host=GOLD, group_id=group.id)


def attach(driver, inv, ctx, vol, instance_name):
    """Attach a volume as Cinder and Nova do.

    What Cinder and Nova do on attach: initialize_connection (which
    makes the lazily created backing near the instance), the volume's
    disk added to the instance VM with volume-<id> in its extraConfig, the
    attachment recorded.  Returns the volume as Cinder then has it.
    """
    session, cf = inv.session, inv.session.vim.client.factory
    instance = inv.vm(instance_name)
    instance_uuid = inv.prop(instance, 'config.instanceUuid')
    # Nova's connector names the instance VM by its moref value.
    driver.initialize_connection(vol, {'instance': instance.value,
                                       'host': 'compute-1'})
    path = inv.disk(inv.vm(vol.name)).backing.fileName
    devices = df.array(inv.prop(instance, 'config.hardware.device'),
                       'VirtualDevice')
    controller = [d for d in devices if 'SCSI' in d.__class__.__name__ or
                  'LsiLogic' in d.__class__.__name__][0]
    used = {d.unitNumber for d in devices
            if getattr(d, 'controllerKey', None) == controller.key}
    disk = cf.create('ns0:VirtualDisk')
    disk.key = -100
    disk.controllerKey = controller.key
    disk.unitNumber = min(set(range(16)) - used - {7})
    disk.capacityInKB = vol.size * units.Mi
    disk.backing = cf.create('ns0:VirtualDiskFlatVer2BackingInfo')
    disk.backing.fileName = path
    disk.backing.diskMode = 'persistent'
    add = cf.create('ns0:VirtualDeviceConfigSpec')
    add.operation = 'add'
    add.device = disk
    spec = cf.create('ns0:VirtualMachineConfigSpec')
    spec.deviceChange = [add]
    session.wait_for_task(session.invoke_api(
        session.vim, 'ReconfigVM_Task', instance, spec=spec))
    attached = [d for d in inv.disks(instance)
                if d.backing.fileName == path][0]
    option = cf.create('ns0:OptionValue')
    option.key = 'volume-%s' % vol.id
    option.value = attached.backing.uuid
    spec = cf.create('ns0:VirtualMachineConfigSpec')
    spec.extraConfig = [option]
    session.wait_for_task(session.invoke_api(
        session.vim, 'ReconfigVM_Task', instance, spec=spec))
    objects.VolumeAttachment(
        ctx, volume_id=vol.id, instance_uuid=instance_uuid,
        attach_status='attached', attached_host='compute-1').create()
    vol = objects.Volume.get_by_id(ctx, vol.id)
    vol.status = 'in-use'
    vol.save()
    return vol


def instance_files(inv, name):
    return [d.backing.fileName for d in inv.disks(inv.vm(name))]


def write(inv, vol, instance_name, data):
    """Write guest data into the volume's attached disk.

    The guest writes data into the volume's disk as the instance VM
    has it attached now (the top of its chain).
    """
    path = inv.disk(inv.vm(vol.name)).backing.fileName
    top = [d.backing for d in inv.disks(inv.vm(instance_name))
           if path in df_chain(d.backing)][0].fileName
    df.write_data(inv.local_path(top), OFFSET, data)


def df_chain(backing):
    files = []
    while backing is not None:
        files.append(backing.fileName)
        backing = getattr(backing, 'parent', None)
    return files


def read(inv, vm):
    return df.read_data(inv.local_path(inv.disk(vm).backing.fileName),
                        inv.sim.datastore_root, OFFSET, 64 * units.Ki)


def group_snapshot(ctx, group, volumes):
    gs = objects.GroupSnapshot(ctx, group_id=group.id,
                               group_type_id=group.group_type_id,
                               project_id=PROJECT, user_id='demo-user',
                               status='creating', name='gs')
    gs.create()
    snaps = []
    for vol in volumes:
        snap = df.new_snapshot(ctx, vol)
        snap.group_snapshot_id = gs.id
        snap.save()
        snaps.append(objects.Snapshot.get_by_id(ctx, snap.id))
    return gs, snaps


def apply(ctx, snaps, updates):
    by_id = {u['id']: u for u in updates}
    for snap in snaps:
        update = dict(by_id[snap.id])
        update.pop('id')
        snap.update(update)
        snap.save()


def attached_pair(driver, inv, ctx, instance='nova-01', second=None,
                  snapshot_format='template'):
    type_id = df.volume_type(ctx, snapshot_format=snapshot_format)
    group = new_group(ctx, type_id)
    assert driver.create_group(ctx, group)['status'] == 'available'
    vols = [new_volume(ctx, type_id, group) for _i in range(2)]
    for vol in vols:
        driver.create_volume(vol)
    vols = [attach(driver, inv, ctx, vols[0], instance),
            attach(driver, inv, ctx, vols[1], second or instance)]
    return group, vols


# --- tests -------------------------------------------------------------------

def test_pools_report_consistent_group_snapshots(driver):
    pools = driver.get_volume_stats(refresh=True)['pools']
    assert pools and all(p['consistent_group_snapshot_enabled'] is True
                         for p in pools)


def test_group_snapshot_freezes_both_volumes_at_one_point(driver, ctx, inv,
                                                          sim):
    group, vols = attached_pair(driver, inv, ctx)
    before = instance_files(inv, 'nova-01')
    first, second = df.pattern('first'), df.pattern('second')
    for vol in vols:
        write(inv, vol, 'nova-01', first)
    sim.reset_stats()

    gs, snaps = group_snapshot(ctx, group, vols)
    model, updates = driver.create_group_snapshot(ctx, gs, snaps)

    assert model['status'] == 'available'
    assert sorted(u['status'] for u in updates) == ['available'] * 2
    # ONE snapshot of the instance VM froze both disks; it is gone again
    # and the instance writes its own disks as before.
    assert sim.request_counts().get('CreateSnapshot_Task') == 1
    assert inv.snapshot_names(inv.vm('nova-01')) == []
    assert instance_files(inv, 'nova-01') == before
    apply(ctx, snaps, updates)
    for snap in snaps:
        template = inv.vm(snap.name)
        assert inv.prop(template, 'config.template') is True
        assert snap.provider_id == template.value
        assert len(inv.disks(template)) == 1  # only the volume's disk
    for vol in vols:
        write(inv, vol, 'nova-01', second)

    made = []
    for snap in snaps:
        vol = df.new_volume(ctx, size=1, type_id=vols[0].volume_type_id,
                            project_id=PROJECT, host=GOLD)
        driver.create_volume_from_snapshot(vol, snap)
        made.append(vol)
    for vol in made:
        assert read(inv, inv.vm(vol.name)) == first
    for vol in vols:
        assert read(inv, inv.vm(vol.name)) == second


def test_attached_cow_volumes_get_template_snapshots(driver, ctx, inv, sim):
    # Volumes whose type says COW: the attached ones get template-format
    # snapshots from the instance's one point (a COW snapshot of their
    # backing would not freeze the disk the instance writes), the
    # available one its usual COW snapshot.
    group, vols = attached_pair(driver, inv, ctx, instance='nova-cow',
                                snapshot_format='COW')
    still = new_volume(ctx, vols[0].volume_type_id, group)
    driver.create_volume(still)
    driver.initialize_connection(still, {'host': 'controller'})  # a backing
    before = instance_files(inv, 'nova-cow')
    first, second = df.pattern('cow-first'), df.pattern('cow-second')
    for vol in vols:
        write(inv, vol, 'nova-cow', first)
    still_disk = inv.local_path(inv.disk(inv.vm(still.name)).backing.fileName)
    df.write_data(still_disk, OFFSET, first)
    sim.reset_stats()

    gs, snaps = group_snapshot(ctx, group, vols + [still])
    model, updates = driver.create_group_snapshot(ctx, gs, snaps)

    assert model['status'] == 'available'
    # One snapshot of the instance VM, one COW snapshot of the still
    # volume's backing; the instance's is gone again.
    assert sim.request_counts().get('CreateSnapshot_Task') == 2
    assert inv.snapshot_names(inv.vm('nova-cow')) == []
    assert instance_files(inv, 'nova-cow') == before
    apply(ctx, snaps, updates)
    attached_snaps, still_snap = snaps[:2], snaps[2]
    for snap in attached_snaps:
        assert snap.provider_location
        template = inv.vm(snap.name)
        assert inv.prop(template, 'config.template') is True
        assert len(inv.disks(template)) == 1
    assert still_snap.provider_location is None
    assert inv.snapshot_names(inv.vm(still.name)) == [still_snap.name]
    for vol in vols:
        write(inv, vol, 'nova-cow', second)
    still_disk = inv.local_path(inv.disk(inv.vm(still.name)).backing.fileName)
    df.write_data(still_disk, OFFSET, second)

    for snap in snaps:
        vol = df.new_volume(ctx, size=1, type_id=still.volume_type_id,
                            project_id=PROJECT, host=GOLD)
        driver.create_volume_from_snapshot(vol, snap)
        assert read(inv, inv.vm(vol.name)) == first
        driver.delete_volume(vol)
    for vol in vols + [still]:
        assert read(inv, inv.vm(vol.name)) == second

    # Delete treats each snapshot by its own format, the attached
    # volumes' templates too (COW snapshots of in-use volumes are refused).
    for snap in snaps:
        driver.delete_snapshot(objects.Snapshot.get_by_id(ctx, snap.id))
    names = inv.vm_names()
    assert not [s.name for s in attached_snaps if s.name in names]
    assert inv.snapshot_names(inv.vm(still.name)) == []


def _point_snapshots(inv, name):
    snap = inv.prop(inv.vm(name), 'snapshot')
    return list(getattr(snap, 'rootSnapshotList', None) or [])


@pytest.mark.parametrize('quiesce', [False, True])
def test_quiesce_option_reaches_the_instance_snapshot(sim, cinder_db, ctx,
                                                      inv, quiesce):
    # vmware_group_snapshot_quiesce asks vCenter for a quiesced snapshot
    # (VMware Tools freeze the guest's file systems), else crash-consistent.
    # Two failed removals keep the instance's snapshot in view: the group
    # snapshot still succeeds and the left point is logged.
    drv = df.make_driver(sim, vmware_lazy_create=True,
                         vmware_snapshot_format='template',
                         vmware_group_snapshot_quiesce=quiesce)
    try:
        group, vols = attached_pair(drv, inv, ctx, instance='nova-quiesce')
        gs, snaps = group_snapshot(ctx, group, vols)
        sim.inject_fault(method='RemoveSnapshot_Task', fault='InvalidState',
                         task=True, count=2)

        model, _updates = drv.create_group_snapshot(ctx, gs, snaps)

        assert model['status'] == 'available'
        points = _point_snapshots(inv, 'nova-quiesce')
        assert [(p.name, bool(p.quiesced)) for p in points] == [
            ('group-snapshot-%s' % gs.id, quiesce)]
    finally:
        sim.clear_faults()
        for point in _point_snapshots(inv, 'nova-quiesce'):
            inv.session.wait_for_task(inv.session.invoke_api(
                inv.session.vim, 'RemoveSnapshot_Task', point.snapshot,
                removeChildren=False))
        df.close_driver(drv)


def test_group_spread_over_two_instances_is_refused(driver, ctx, inv, sim):
    group, vols = attached_pair(driver, inv, ctx, second='nova-02')
    sim.reset_stats()
    gs, snaps = group_snapshot(ctx, group, vols)

    with pytest.raises(exception.InvalidGroupSnapshot) as err:
        driver.create_group_snapshot(ctx, gs, snaps)

    assert 'attached to 2 instances' in str(err.value)
    assert not sim.request_counts().get('CreateSnapshot_Task')
    assert inv.snapshot_names(inv.vm('nova-01')) == []
    assert inv.snapshot_names(inv.vm('nova-02')) == []


@pytest.mark.parametrize('fault', [
    dict(method='CloneVM_Task', fault='NoDiskSpace', task=True, skip=1,
         count=1),
    dict(method='MarkAsTemplate', fault='InvalidState', skip=1, count=1),
    dict(method='CreateSnapshot_Task', fault='InvalidState', task=True,
         count=1),
])
def test_fault_during_group_snapshot_leaves_nothing(driver, ctx, inv, sim,
                                                    fault):
    group, vols = attached_pair(driver, inv, ctx)
    before = instance_files(inv, 'nova-01')
    gs, snaps = group_snapshot(ctx, group, vols)
    rule = sim.inject_fault(**fault)

    with pytest.raises(Exception):
        driver.create_group_snapshot(ctx, gs, snaps)

    assert next(r['fired'] for r in sim.faults()
                if r['id'] == rule['id']) == 1
    names = inv.vm_names()
    assert not [s.name for s in snaps if s.name in names]
    assert inv.snapshot_names(inv.vm('nova-01')) == []
    assert instance_files(inv, 'nova-01') == before


def test_available_volumes_and_generic_groups(driver, ctx, inv):
    type_id = df.volume_type(ctx, snapshot_format='template')
    group = new_group(ctx, type_id)
    vol = new_volume(ctx, type_id, group)
    driver.create_volume(vol)
    driver.initialize_connection(vol, {'host': 'controller'})  # a backing
    gs, snaps = group_snapshot(ctx, group, [vol])

    model, updates = driver.create_group_snapshot(ctx, gs, snaps)

    assert model['status'] == 'available'
    assert inv.prop(inv.vm(snaps[0].name), 'config.template') is True
    assert updates[0]['provider_location']
    generic = new_group(ctx, type_id, consistent=False)
    with pytest.raises(NotImplementedError):
        driver.create_group(ctx, generic)
    gs, snaps = group_snapshot(ctx, generic,
                               [new_volume(ctx, type_id, generic)])
    with pytest.raises(NotImplementedError):
        driver.create_group_snapshot(ctx, gs, snaps)
