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
"""``cinder-vmware datastore evacuate`` in cluster pool mode against the
simulator: a drained datastore holding a thin volume, a COW-snapshotted
volume, a linked clone and its parent is emptied of every Cinder file by
storage vMotion onto the other datastores of the pool; every byte (the
snapshots' too) reads back the same, the results file says what happened,
a rerun has nothing left to do, and bad input is one line."""

import io
import json
import os

import pytest

pytest.importorskip('tests.functional.driver_fixtures')

from cinder_vmware_ext.cmd import main as cli  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402

BACKEND = 'functional@vmware'
GOLD = BACKEND + '#gold'
OFFSET = 1024 * 1024
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'}]}],
    'datastores': [
        # The least free space: best_fit (the default) places every
        # volume here.
        {'name': 'old-ds', 'capacity_gb': 100, 'free_gb': 20,
         'mounts': [{'host': 'esx-01'}]},
        {'name': 'new-a', 'capacity_gb': 100, 'free_gb': 60,
         'mounts': [{'host': 'esx-01'}]},
        {'name': 'new-b', 'capacity_gb': 100, 'free_gb': 50,
         'mounts': [{'host': 'esx-01'}]}],
    # An instance, to attach a volume to (its own disk elsewhere).
    'vms': [{'name': 'instance-1', 'host': 'esx-01',
             'power_state': 'poweredOn',
             'disks': [{'datastore': 'new-b', 'capacity_gb': 0.01}]}],
}]}


@pytest.fixture(scope='module')
def conf(sim, cinder_db, tmp_path_factory):
    return fx.write_cinder_conf(
        sim, tmp_path_factory.mktemp('conf') / 'cinder.conf')


@pytest.fixture(scope='module')
def driver(sim, cinder_db, coordination):
    # coordination: Cinder's tooz coordinator on the session's etcd.
    drv = fx.make_driver(sim, vmware_lazy_create=True)
    yield drv
    fx.close_driver(drv)


def run(conf, *argv):
    app = cli.CinderVmwareApp()
    out, err = io.StringIO(), io.StringIO()
    app.stdout, app.stderr = out, err
    code = app.run(['--config-file', conf] + list(argv))
    return code, out.getvalue(), err.getvalue()


def backed(driver, ctx, inv, **specs):
    vol = fx.new_volume(ctx, type_id=fx.volume_type(ctx, **specs),
                        host=GOLD)
    driver.create_volume(vol)
    driver.initialize_connection(vol, {'host': 'compute-1',
                                       'ip': '127.0.0.1'})
    assert inv.vm(vol.name) is not None
    return vol


def top(inv, vol):
    return inv.disk(inv.vm(vol.name)).backing


def write(inv, ds_path, seed):
    data = fx.pattern(seed)
    fx.write_data(inv.local_path(ds_path), OFFSET, data)
    return data


def read(inv, ds_path, length=64 * 1024):
    return fx.read_data(inv.local_path(ds_path), inv.sim.datastore_root,
                        OFFSET, length)


def files_on(inv, vm, datastore):
    """Every disk file of the VM's chains and snapshots on ``datastore``."""
    found = []
    for device in inv.disks(vm):
        backing = device.backing
        while backing is not None:
            found.append(backing.fileName)
            backing = getattr(backing, 'parent', None)
    return [f for f in found if f.startswith('[%s] ' % datastore)]


@pytest.fixture(scope='module')
def estate(driver, cinder_db, inv):
    """The volumes on old-ds and what each holds."""
    from tests.functional.driver_fixtures import admin_context
    ctx = admin_context()
    thin = backed(driver, ctx, inv, vmdk_type='thin')
    data = {thin.id: write(inv, top(inv, thin).fileName, 1)}

    cow = backed(driver, ctx, inv, vmdk_type='thick')
    before = write(inv, top(inv, cow).fileName, 2)
    snap = fx.new_snapshot(ctx, cow)
    driver.create_snapshot(snap)
    assert top(inv, cow).parent is not None   # a COW point
    data[cow.id] = write(inv, top(inv, cow).fileName, 3)

    parent = backed(driver, ctx, inv, vmdk_type='thick')
    data[parent.id] = write(inv, top(inv, parent).fileName, 4)
    psnap = fx.new_snapshot(ctx, parent)
    driver.create_snapshot(psnap)
    clone = fx.new_volume(ctx, type_id=fx.volume_type(
        ctx, clone_type='linked'), host=GOLD)
    driver.create_volume_from_snapshot(clone, psnap)
    assert top(inv, clone).parent is not None  # shares the parent's base
    data[clone.id] = data[parent.id]
    volumes = [thin, cow, parent, clone]
    for vol in volumes:
        assert files_on(inv, inv.vm(vol.name), 'old-ds'), vol.name
    return {'volumes': volumes, 'data': data, 'cow': cow,
            'cow_before': before}


def test_bad_input_is_one_line(conf):
    for argv, message in ((('nosuch',), 'datastore nosuch'),
                          (('old-ds', '--concurrency', '0'),
                           '--concurrency 0')):
        code, out, err = run(conf, 'datastore', 'evacuate', *argv)
        assert code == 1 and message in err, err
        assert 'Traceback' not in err and len(err.strip().splitlines()) == 1


def test_dry_run_moves_nothing(conf, estate, inv, tmp_path):
    results = tmp_path / 'dry.jsonl'
    code, out, err = run(conf, 'datastore', 'evacuate', 'old-ds',
                         '--dry-run', '--results', str(results))
    assert code == 0, err
    for vol in estate['volumes']:
        assert 'would move volume %s to new-' % vol.id in out
        assert files_on(inv, inv.vm(vol.name), 'old-ds')
    assert not results.exists()


def test_evacuate_a_drained_datastore(conf, estate, inv, tmp_path):
    code, out, err = run(conf, 'datastore', 'drain', 'old-ds')
    assert code == 0, err
    results = tmp_path / 'evacuate.jsonl'
    code, out, err = run(conf, 'datastore', 'evacuate', 'old-ds',
                         '--concurrency', '2', '--results', str(results))
    assert code == 0, (out, err)
    volumes = estate['volumes']
    assert out.splitlines()[0].startswith('moved: %d, skipped: 0, failed: 0'
                                          % len(volumes)) or \
        'failed: 0' in out.splitlines()[0], out
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    by_key = {e['key']: e for e in lines}
    for vol in volumes:
        vm = inv.vm(vol.name)
        assert files_on(inv, vm, 'old-ds') == [], vol.name
        now = top(inv, vol).fileName
        assert now.startswith(('[new-a] ', '[new-b] '))
        assert read(inv, now) == estate['data'][vol.id], vol.name
        assert by_key[vol.id]['status'] == 'moved'
        assert by_key[vol.id]['to'] == now.split(']')[0][1:]
        assert not inv.prop(vm, 'config.files.vmPathName').startswith(
            '[old-ds]')
    # The COW snapshot still reads what it froze.
    base = top(inv, estate['cow']).parent.fileName
    assert read(inv, base) == estate['cow_before']
    # Nothing of Cinder's left in the datastore's files.
    root = os.path.join(inv.sim.datastore_root, 'old-ds')
    left = [os.path.join(d, f) for d, _s, fs in os.walk(root) for f in fs
            if 'volume-' in d or f.endswith('.vmdk')]
    assert left == [], left

    # A rerun: nothing left to move, nothing recorded.
    code, out, err = run(conf, 'datastore', 'evacuate', 'old-ds',
                         '--results', str(results))
    assert code == 0 and out.startswith('moved: 0, skipped: 0, failed: 0')
    assert len(results.read_text().splitlines()) == len(lines)


def attach_to_instance(inv, vol, instance_name='instance-1'):
    """The volume's disk added to the instance VM, as Nova attaches it."""
    from cinder_vmware_ext.vsphere import devices
    instance = inv.vm(instance_name)
    own = inv.disk(instance)
    disk = inv.disk(inv.vm(vol.name))
    spec = devices.add_existing_spec(
        inv.session, disk.backing.fileName, disk.capacityInKB * 1024, True,
        own.controllerKey, own.unitNumber + 1)
    devices.reconfigure(inv.session, instance, spec)


def test_an_attached_volume_is_skipped_with_the_reason(conf, driver, estate,
                                                       inv, tmp_path):
    from tests.functional.driver_fixtures import admin_context
    code, _out, err = run(conf, 'datastore', 'undrain', 'old-ds')
    assert code == 0, err
    vol = backed(driver, admin_context(), inv, vmdk_type='thin')
    path = top(inv, vol).fileName
    assert path.startswith('[old-ds] ')   # best fit: the least free
    data = write(inv, path, 5)
    attach_to_instance(inv, vol)
    results = tmp_path / 'attached.jsonl'
    code, out, err = run(conf, 'datastore', 'evacuate', 'old-ds',
                         '--results', str(results))
    assert code == 0, (out, err)
    assert out.startswith('moved: 0, skipped: 1, failed: 0'), out
    [line] = [json.loads(x) for x in results.read_text().splitlines()]
    assert line['key'] == vol.id and line['status'] == 'skipped'
    assert 'attached to instance-1' in line['reason']
    # Never half-moved: the backing and the instance still on old-ds,
    # the bytes as written.
    assert top(inv, vol).fileName == path
    assert path in [d.backing.fileName for d in inv.disks(
        inv.vm('instance-1'))]
    assert read(inv, path) == data


def test_a_failed_move_leaves_the_volume_and_a_rerun_resumes(
        conf, driver, estate, inv, sim, tmp_path):
    # After the test before: old-ds undrained, an attached volume on it.
    from tests.functional.driver_fixtures import admin_context
    vol = backed(driver, admin_context(), inv, vmdk_type='thin')
    path = top(inv, vol).fileName
    assert path.startswith('[old-ds] ')
    data = write(inv, path, 6)
    results = tmp_path / 'resume.jsonl'
    sim.inject_fault('RelocateVM_Task', 'SystemError', task=True,
                     moref=inv.vm(vol.name).value)
    try:
        code, out, err = run(conf, 'datastore', 'evacuate', 'old-ds',
                             '--results', str(results))
    finally:
        sim.clear_faults()
    assert code == 1, (out, err)
    assert out.startswith('moved: 0, skipped: 1, failed: 1'), out
    # Left where it was, whole.
    assert top(inv, vol).fileName == path
    assert read(inv, path) == data
    code, out, err = run(conf, 'datastore', 'evacuate', 'old-ds',
                         '--results', str(results))
    assert code == 0 and out.startswith('moved: 1, skipped: 1, failed: 0'), (
        out, err)
    now = top(inv, vol).fileName
    assert now.startswith(('[new-a] ', '[new-b] '))
    assert read(inv, now) == data
    mine = [json.loads(x)['status'] for x in results.read_text().splitlines()
            if json.loads(x)['key'] == vol.id]
    assert mine == ['failed', 'moved']
