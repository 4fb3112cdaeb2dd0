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
"""Back-end QoS specs on the backing disk's storageIOAllocation.

Each test gives a volume type a real Cinder QoS spec (Cinder's own
``qos_specs`` API on the SQLite database), runs a driver flow, and reads
the disk's ``storageIOAllocation`` back from the simulator through a
separate oslo.vmware session.
"""

import os

from cinder import exception
import pytest

from tests.functional import driver_fixtures as df

PROJECT = 'demo-project'
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
    "files": [
        {"datastore": "gold-ds", "path": "orphans/keep.vmdk",
         "capacity_gb": 1, "thin": True},
        {"datastore": "gold-ds", "path": "orphans/bad.vmdk",
         "capacity_gb": 1, "thin": True},
    ],
}]}
DEFAULT = {'limit': -1, 'reservation': 0, 'level': 'normal', 'shares': 1000}


@pytest.fixture(scope='module')
def driver(sim, cinder_db):
    # Eager create (vmware_lazy_create=False): these tests read or write
    # the backing right after create_volume.
    drv = df.make_driver(sim, vmware_lazy_create=False)
    yield drv
    df.close_driver(drv)


@pytest.fixture(scope='module')
def lazy_driver(sim, cinder_db):
    drv = df.make_driver(sim, vmware_lazy_create=True)
    yield drv
    df.close_driver(drv)


# --- helpers -----------------------------------------------------------------

def qos_type(ctx, consumer='back-end', **specs):
    """A volume type with a QoS spec (keys given with _ for :)."""
    from cinder.volume import qos_specs
    specs = {k.replace('vmware_', 'vmware:'): str(v)
             for k, v in specs.items()}
    type_id = df.volume_type(ctx)
    spec = qos_specs.create(ctx, 'qos-%s' % type_id,
                            dict(specs, consumer=consumer))
    qos_specs.associate_qos_with_type(ctx, spec['id'], type_id)
    return type_id


def new_volume(ctx, type_id=None, size=1):
    return df.new_volume(ctx, size=size, type_id=type_id, project_id=PROJECT,
                         host=GOLD)


def allocation(inv, volume):
    vm = inv.vm(volume.name)
    assert vm is not None, 'no backing for %s' % volume.name
    io = inv.disk(vm).storageIOAllocation
    return {'limit': io.limit, 'reservation': io.reservation,
            'level': io.shares.level, 'shares': io.shares.shares}


def expect(**kw):
    return dict(DEFAULT, **kw)


def snapshot_volume(driver, ctx, volume):
    snap = df.new_snapshot(ctx, volume)
    update = driver.create_snapshot(snap)
    if update:
        snap.update(update)
        snap.save()
    return snap


# --- create ------------------------------------------------------------------

@pytest.mark.parametrize('consumer, specs, expected', [
    ('back-end', dict(total_iops_sec=500, vmware_iops_reservation=100,
                      vmware_shares_level='high'),
     expect(limit=500, reservation=100, level='high', shares=2000)),
    ('both', dict(read_iops_sec=300, write_iops_sec=200,
                  total_bytes_sec=10 ** 8, vmware_shares_level='low'),
     expect(limit=500, level='low', shares=500)),
    ('back-end', dict(vmware_shares_level='custom', vmware_shares=1500),
     expect(level='custom', shares=1500)),
    # Nova's business: nothing on the backing's disk.
    ('front-end', dict(total_iops_sec=100, total_bytes_sec=1000), DEFAULT),
])
def test_create_applies_the_spec(driver, ctx, inv, consumer, specs,
                                 expected):
    vol = new_volume(ctx, qos_type(ctx, consumer, **specs))

    driver.create_volume(vol)

    assert allocation(inv, vol) == expected


@pytest.mark.parametrize('consumer, specs, named', [
    ('back-end', dict(iops_burst=9), 'iops_burst'),
    ('back-end', dict(total_bytes_sec=1000), 'total_bytes_sec'),
    ('back-end', dict(total_iops_sec='fast'), 'total_iops_sec'),
    ('back-end', dict(vmware_shares_level='extreme'), 'shares_level'),
    ('both', dict(total_iops_sec=10, vmware_iops_reservation=20), 'exceeds'),
    # Over vSphere's ranges: refused before vCenter sees them.
    ('back-end', dict(total_iops_sec=2 ** 63),
     'total_iops_sec=9223372036854775808 is out of vSphere'),
    ('back-end', dict(vmware_shares_level='custom', vmware_shares=10 ** 12),
     'vmware:shares=1000000000000 is out of vSphere'),
])
def test_invalid_spec_refused_before_create(driver, ctx, inv, consumer,
                                            specs, named):
    vol = new_volume(ctx, qos_type(ctx, consumer, **specs))
    vms = inv.vm_names()

    with pytest.raises(exception.InvalidQoSSpecs, match=named):
        driver.create_volume(vol)

    assert inv.vm_names() == vms
    assert not os.path.exists(inv.sim.datastore_path('gold-ds', vol.name))


def test_lazy_create_applies_at_first_attach(lazy_driver, ctx, inv):
    vol = new_volume(ctx, qos_type(ctx, total_iops_sec=250))

    lazy_driver.create_volume(vol)
    assert inv.vm(vol.name) is None  # upstream creates it lazily

    lazy_driver.initialize_connection(vol, {'host': 'compute-1',
                                            'ip': '127.0.0.1'})

    assert allocation(inv, vol) == expect(limit=250)


def test_lazy_create_still_refuses_invalid_spec(lazy_driver, ctx, inv):
    vol = new_volume(ctx, qos_type(ctx, vmware_shares=10))
    with pytest.raises(exception.InvalidQoSSpecs, match='only valid with'):
        lazy_driver.create_volume(vol)


@pytest.mark.parametrize('lazy', [False, True])
def test_failed_qos_reconfigure_leaves_no_backing(driver, lazy_driver, ctx,
                                                  inv, lazy):
    """Check that a refused QoS leaves no backing.

    vCenter refuses the allocation: the new backing is deleted, so a
    rescheduled create starts clean.
    """
    limit = 4321 + lazy
    vol = new_volume(ctx, qos_type(ctx, total_iops_sec=limit))
    vms = inv.vm_names()
    inv.sim.inject_fault('ReconfigVM_Task', 'SystemError', task=True,
                         count=1, body_contains='>%d<' % limit,
                         fields={'reason': 'refused by the test'})
    try:
        with pytest.raises(Exception, match='refused|SystemError'):
            if lazy:
                lazy_driver.create_volume(vol)
                lazy_driver.initialize_connection(vol, {'host': 'c-1'})
            else:
                driver.create_volume(vol)
        assert [f['fired'] for f in inv.sim.faults()] == [1]
    finally:
        inv.sim.clear_faults()

    assert inv.vm_names() == vms
    folder = inv.sim.datastore_path('gold-ds', vol.name)
    assert not os.path.exists(folder) or not os.listdir(folder)


def test_failed_qos_after_clone_removes_the_clone(driver, ctx, inv):
    source = new_volume(ctx)
    driver.create_volume(source)
    clone = new_volume(ctx, qos_type(ctx, total_iops_sec=4444))
    vms = inv.vm_names()
    inv.sim.inject_fault('ReconfigVM_Task', 'SystemError', task=True,
                         count=1, body_contains='>4444<',
                         fields={'reason': 'refused by the test'})
    try:
        with pytest.raises(Exception, match='refused|SystemError'):
            driver.create_cloned_volume(clone, source)
    finally:
        inv.sim.clear_faults()

    assert inv.vm_names() == vms
    assert allocation(inv, source) == DEFAULT


# --- clone, from snapshot ----------------------------------------------------

def test_clone_gets_its_own_types_spec(driver, ctx, inv):
    source = new_volume(ctx, qos_type(ctx, total_iops_sec=900,
                                      vmware_shares_level='high'))
    driver.create_volume(source)
    limited = new_volume(ctx, qos_type(ctx, total_iops_sec=100))
    plain = new_volume(ctx)

    driver.create_cloned_volume(limited, source)
    driver.create_cloned_volume(plain, source)

    assert allocation(inv, limited) == expect(limit=100)
    # vSphere copies the source disk's allocation; a type without QoS
    # gets vSphere's defaults back.
    assert allocation(inv, plain) == DEFAULT
    assert allocation(inv, source) == expect(limit=900, level='high',
                                             shares=2000)


def test_clone_with_invalid_spec_creates_nothing(driver, ctx, inv):
    source = new_volume(ctx)
    driver.create_volume(source)
    clone = new_volume(ctx, qos_type(ctx, read_iops_sec=5))
    vms = inv.vm_names()

    with pytest.raises(exception.InvalidQoSSpecs, match='go together'):
        driver.create_cloned_volume(clone, source)
    assert inv.vm_names() == vms


def test_from_snapshot(driver, ctx, inv):
    source = new_volume(ctx, qos_type(ctx, total_iops_sec=700))
    driver.create_volume(source)
    snap = snapshot_volume(driver, ctx, source)
    vol = new_volume(ctx, qos_type(ctx, vmware_iops_reservation=40,
                                   vmware_shares_level='low'))

    driver.create_volume_from_snapshot(vol, snap)

    assert allocation(inv, vol) == expect(reservation=40, level='low',
                                          shares=500)
    bad = new_volume(ctx, qos_type(ctx, vmware_shares_level='custom'))
    vms = inv.vm_names()
    with pytest.raises(exception.InvalidQoSSpecs, match='needs'):
        driver.create_volume_from_snapshot(bad, snap)
    assert inv.vm_names() == vms


# --- retype ------------------------------------------------------------------

def retype(driver, ctx, vol, type_id):
    from cinder.volume import volume_types
    new_type = volume_types.get_volume_type(ctx, type_id)
    diff, _ = volume_types.volume_types_diff(ctx, vol.volume_type_id,
                                             type_id)
    return driver.retype(ctx, vol, new_type, diff, {'host': GOLD})


def test_retype_applies_and_removes_the_spec(driver, ctx, inv):
    vol = new_volume(ctx)
    driver.create_volume(vol)
    assert allocation(inv, vol) == DEFAULT

    limited = qos_type(ctx, total_iops_sec=300, vmware_iops_reservation=30,
                       vmware_shares_level='custom', vmware_shares=750)
    assert retype(driver, ctx, vol, limited)
    assert allocation(inv, vol) == expect(limit=300, reservation=30,
                                          level='custom', shares=750)
    vol.volume_type_id = limited
    vol.save()

    assert retype(driver, ctx, vol, df.volume_type(ctx))
    assert allocation(inv, vol) == DEFAULT


def test_retype_to_invalid_spec_changes_nothing(driver, ctx, inv):
    vol = new_volume(ctx, qos_type(ctx, total_iops_sec=300))
    driver.create_volume(vol)

    with pytest.raises(exception.InvalidQoSSpecs, match='not supported'):
        retype(driver, ctx, vol, qos_type(ctx, bogus=1))

    assert allocation(inv, vol) == expect(limit=300)


# --- manage ------------------------------------------------------------------

def test_manage_applies_the_spec(driver, ctx, inv):
    vol = new_volume(ctx, qos_type(ctx, total_iops_sec=1200))

    driver.manage_existing(vol, {'source-name': '[gold-ds] orphans/keep.vmdk'})

    assert allocation(inv, vol) == expect(limit=1200)
    assert inv.disk(inv.vm(vol.name)).backing.fileName == \
        '[gold-ds] orphans/keep.vmdk'


def test_manage_with_invalid_spec_leaves_the_disk_alone(driver, ctx, inv):
    vol = new_volume(ctx, qos_type(ctx, vmware_iops_reservation=-5))
    vms = inv.vm_names()

    with pytest.raises(exception.InvalidQoSSpecs, match='iops_reservation'):
        driver.manage_existing(vol,
                               {'source-name': '[gold-ds] orphans/bad.vmdk'})

    assert inv.vm_names() == vms
    assert os.path.isfile(inv.sim.datastore_path('gold-ds',
                                                 'orphans/bad.vmdk'))


# --- stats -------------------------------------------------------------------

def test_pools_report_qos_support(driver):
    stats = driver.get_volume_stats(refresh=True)
    assert stats['pools']
    assert all(p['QoS_support'] is True for p in stats['pools'])
