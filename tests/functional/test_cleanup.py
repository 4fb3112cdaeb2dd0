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
"""The driver side of Cinder's cleanup (extensions/cleanup.py): a peer
service rolls back the linked clone a dead service left half done.

Two drivers on one simulator and one Cinder database stand for two
services of a backend.  The "dead" one makes a linked clone and never
removes its temporary snapshot (RemoveSnapshot_Task fails every time, as
if the process had died just before it); Cinder's cleanup then sets the
volume to error; the peer removes the clone's backing and the snapshot at
its next look, and leaves the source's bytes as they were.
"""

from oslo_utils import units
import pytest

from tests.functional import driver_fixtures as df

PROJECT = 'demo-project'
OFFSET = 5 * units.Mi
TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [
        {"name": "gold", "hosts": [{"name": "esx-01"}]},
    ],
    "datastores": [
        {"name": "gold-ds", "type": "VMFS", "capacity_gb": 100,
         "free_gb": 80, "mounts": [{"host": "esx-01"}]},
    ],
}]}
GOLD = 'functional@vmware#gold'


@pytest.fixture(scope='module')
def drivers(sim, cinder_db):
    # Lazy create, the default: a source is attached once (its backing is
    # made there) before it is written.
    dead = df.make_driver(sim)
    peer = df.make_driver(sim)
    yield dead, peer
    df.close_driver(dead)
    df.close_driver(peer)


@pytest.fixture(autouse=True)
def no_faults(sim):
    yield
    sim.clear_faults()


def _volume(ctx, **kwargs):
    return df.new_volume(ctx, type_id=df.volume_type(ctx, clone_type='linked'),
                         project_id=PROJECT, host=GOLD, **kwargs)


def _source(driver, ctx, inv, seed):
    source = _volume(ctx)
    driver.create_volume(source)
    df.first_attach(driver, source)
    disk = inv.local_path(inv.disk(inv.vm(source.name)).backing.fileName)
    data = df.pattern(seed)
    df.write_data(disk, OFFSET, data)
    return source, data


def _read_source(inv, source, length):
    top = inv.local_path(inv.disk(inv.vm(source.name)).backing.fileName)
    return df.read_data(top, inv.sim.datastore_root, OFFSET, length)


def _half_made_clone(dead, ctx, inv, sim, source):
    """Make a linked clone half made by a dead service.

    A linked clone whose temporary snapshot stays on the source, the
    volume still ``creating`` as its dead service left it.
    """
    clone = _volume(ctx, status='creating', source_volid=source.id)
    sim.inject_fault('RemoveSnapshot_Task', 'TaskInProgress', task=True)
    dead.create_cloned_volume(clone, source)
    sim.clear_faults()
    assert inv.vm(clone.name) is not None
    assert inv.snapshot_names(inv.vm(source.name)) == [
        'temp-snapshot-%s' % clone.id]
    return clone


def test_peer_rolls_back_a_clone_cleanup_set_to_error(drivers, ctx, inv,
                                                      sim):
    dead, peer = drivers
    source, data = _source(dead, ctx, inv, 'cleanup-source')
    clone = _half_made_clone(dead, ctx, inv, sim, source)

    # Still creating: some service may be making it; nothing is touched.
    peer.roll_back_abandoned_clones()
    assert inv.vm(clone.name) is not None
    assert inv.snapshot_names(inv.vm(source.name)) == [
        'temp-snapshot-%s' % clone.id]

    # What Cinder's cleanup of the dead service's work does.
    clone.status = 'error'
    clone.save()
    peer.get_volume_stats(refresh=True)

    assert inv.vm(clone.name) is None
    assert inv.snapshot_names(inv.vm(source.name)) == []
    assert _read_source(inv, source, len(data)) == data
    # The volume stays for the operator to delete; that works.
    peer.delete_volume(clone)
    assert inv.vm(clone.name) is None


def test_deleting_the_errored_clone_removes_the_temporary_snapshot(
        drivers, ctx, inv, sim):
    dead, peer = drivers
    source, data = _source(dead, ctx, inv, 'cleanup-delete')
    clone = _half_made_clone(dead, ctx, inv, sim, source)
    clone.status = 'error'
    clone.save()

    peer.delete_volume(clone)

    assert inv.vm(clone.name) is None
    assert inv.snapshot_names(inv.vm(source.name)) == []
    assert _read_source(inv, source, len(data)) == data


def test_error_volumes_without_a_temporary_snapshot_keep_their_backing(
        drivers, ctx, inv):
    dead, peer = drivers
    source, _data = _source(dead, ctx, inv, 'cleanup-keep')
    # A finished clone later set to error (say, by an operator): its
    # backing is the volume's data and stays.
    clone = _volume(ctx, source_volid=source.id)
    dead.create_cloned_volume(clone, source)
    clone.status = 'error'
    clone.save()
    names_before = inv.snapshot_names(inv.vm(source.name))

    peer.roll_back_abandoned_clones()

    assert inv.vm(clone.name) is not None
    assert inv.vm(source.name) is not None
    assert inv.snapshot_names(inv.vm(source.name)) == names_before
