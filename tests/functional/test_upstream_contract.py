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
"""Where upstream's driver contract holds for ours (issue 16).

Upstream Cinder's own VMDK driver tests run against our class under
stestr (tests/upstream/); the departures they found are fixed here and
checked against the simulator: a COW snapshot of an attached volume is
refused before vCenter is asked anything, the pool-scoped entry points
take a volume without a host and a bare host string, and
``vmware_enable_volume_stats = False`` is said to be ignored at start-up
while real pool stats are still reported.
"""

import logging

from cinder import exception
import pytest

from tests.functional import driver_fixtures as df

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [
        {"name": "gold", "hosts": [{"name": "esx-01"}]},
        {"name": "silver", "hosts": [{"name": "esx-11"}]},
    ],
    "datastores": [
        {"name": "gold-ds", "type": "VMFS", "capacity_gb": 100,
         "free_gb": 80, "mounts": [{"host": "esx-01"}]},
        {"name": "silver-ds", "type": "VMFS", "capacity_gb": 50,
         "free_gb": 40, "mounts": [{"host": "esx-11"}]},
    ],
}]}
GOLD = 'functional@vmware#gold'
SILVER = 'functional@vmware#silver'


@pytest.fixture(scope='module')
def driver(sim, cinder_db):
    # Eager create (vmware_lazy_create=False): these tests read or write
    # the backing right after create_volume.
    drv = df.make_driver(sim, vmware_cluster_name=['gold', 'silver'],
                         vmware_lazy_create=False)
    yield drv
    df.close_driver(drv)


def _attach(ctx, volume):
    from cinder import objects
    attachment = objects.VolumeAttachment(
        ctx, volume_id=volume.id, instance_uuid=volume.id,
        attach_status='attached', attached_host='nova-compute-1')
    attachment.create()
    volume.status = 'in-use'
    volume.attach_status = 'attached'
    volume.save()
    return objects.Volume.get_by_id(ctx, volume.id)


def test_cow_snapshot_of_attached_volume_refused_before_vcenter(
        driver, ctx, inv, sim):
    volume = df.new_volume(ctx, host=GOLD)
    driver.create_volume(volume)
    volume = _attach(ctx, volume)
    snapshot = df.new_snapshot(ctx, volume)
    sim.reset_stats()
    with pytest.raises(exception.InvalidVolume, match='COW snapshot'):
        driver.create_snapshot(snapshot)
    assert sim.request_counts() == {}
    assert inv.snapshot_names(inv.vm(volume.name)) == []


def test_cow_snapshot_of_attached_volume_without_backing_is_refused(
        driver, ctx, inv):
    # Upstream refuses it too; before, ours looked the backing up, found
    # none and reported a snapshot that does not exist.
    volume = _attach(ctx, df.new_volume(ctx, host=GOLD))
    snapshot = df.new_snapshot(ctx, volume)
    with pytest.raises(exception.InvalidVolume):
        driver.create_snapshot(snapshot)
    assert volume.name not in inv.vm_names()


def test_retype_takes_a_bare_host_string(driver, ctx, inv):
    volume = df.new_volume(ctx, host=GOLD)
    driver.create_volume(volume)
    new_type = df.volume_type(ctx)
    from cinder.volume import volume_types
    diff, _same = volume_types.volume_types_diff(
        ctx, volume.volume_type_id, new_type)
    # The pool comes from the string, as it would from {'host': ...}.
    assert driver.retype(ctx, volume, volume_types.get_volume_type(
        ctx, new_type), diff, SILVER)
    backing = inv.vm(volume.name)
    assert inv.name_of(inv.disk(backing).backing.datastore) == 'silver-ds'


def test_entry_point_takes_a_volume_without_host(driver, ctx, inv):
    volume = df.new_volume(ctx)
    assert volume.host is None
    driver.create_volume(volume)
    # No pool named: the one with the most free space on a datastore.
    backing = inv.vm(volume.name)
    assert inv.name_of(inv.disk(backing).backing.datastore) == 'gold-ds'


def test_volume_stats_option_false_is_said_to_be_ignored(sim, cinder_db,
                                                         caplog):
    caplog.set_level(logging.INFO, logger='cinder_vmware_ext.driver')
    drv = df.make_driver(sim, vmware_enable_volume_stats=False)
    try:
        assert any('vmware_enable_volume_stats is False: ignored' in
                   r.getMessage() for r in caplog.records)
        pools = drv.get_volume_stats(refresh=True)['pools']
        gold = [p for p in pools if p['pool_name'] == 'gold']
        assert gold and gold[0]['total_capacity_gb'] == 100
    finally:
        df.close_driver(drv)
