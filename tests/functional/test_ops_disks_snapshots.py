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
"""``cinder-vmware disk ...`` and ``snapshot ...`` against the simulator.

The commands run as an operator runs them (a real cinder.conf backend
section, the cliff app); their effects are read through a separate
oslo.vmware session and from the datastore files.  Cinder's volumes are
made by the real driver (lazy create, a backing at first attach).
"""

import hashlib
import io
import os

import pytest

pytest.importorskip('tests.functional.driver_fixtures')

from cinder_vmware_ext.cmd import main as cli  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402
from tests import simulator as vcsim  # noqa: E402

GOLD = 'functional@vmware#gold'
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'}]}],
    'datastores': [
        {'name': 'gold-ds', 'capacity_gb': 100, 'free_gb': 80,
         'mounts': [{'host': 'esx-01'}]},
        {'name': 'other-ds', 'capacity_gb': 100, 'free_gb': 80,
         'mounts': [{'host': 'esx-01'}]}],
    'vms': [
        {'name': 'snappy', 'host': 'esx-01',
         'disks': [{'datastore': 'gold-ds', 'capacity_gb': 0.01},
                   {'datastore': 'other-ds', 'path': 'data/d.vmdk',
                    'capacity_gb': 0.01, 'thin': True}],
         'snapshots': [{'name': 'first', 'description': 'one'},
                       {'name': 'second'}]},
        {'name': 'running', 'host': 'esx-01', 'power_state': 'poweredOn',
         'disks': [{'datastore': 'gold-ds', 'capacity_gb': 0.01}]}],
    'files': [
        {'datastore': 'gold-ds', 'path': 'loose/free.vmdk',
         'capacity_gb': 0.01, 'thin': True}],
}]}


@pytest.fixture(scope='module')
def conf(sim, tmp_path_factory):
    return fx.write_cinder_conf(
        sim, tmp_path_factory.mktemp('conf') / 'cinder.conf')


@pytest.fixture(scope='module')
def driver(sim, cinder_db):
    drv = fx.make_driver(sim, vmware_lazy_create=True)
    yield drv
    fx.close_driver(drv)


@pytest.fixture(autouse=True)
def no_faults(sim):
    yield
    sim.clear_faults()


def run(conf, *argv):
    app = cli.CinderVmwareApp()
    out, err = io.StringIO(), io.StringIO()
    app.stdout, app.stderr = out, err
    code = app.run(['--config-file', conf] + list(argv))
    return code, out.getvalue(), err.getvalue()


def run_json(conf, *argv):
    import json
    code, out, err = run(conf, *(list(argv) + ['-f', 'json']))
    assert code == 0, err
    return json.loads(out)


def backed_volume(driver, ctx, inv, host=GOLD):
    """A Cinder volume with a backing (lazy create: made at attach)."""
    vol = fx.new_volume(ctx, host=host)
    driver.create_volume(vol)
    driver.initialize_connection(vol, {'host': 'compute-1',
                                       'ip': '127.0.0.1'})
    assert inv.vm(vol.name) is not None
    return vol


def cinder_snapshot(driver, ctx, vol):
    snap = fx.new_snapshot(ctx, vol)
    update = driver.create_snapshot(snap)
    if update:
        snap.update(update)
        snap.save()
    return snap


def logical_bytes(sim, ds_path, inv, length):
    local = inv.local_path(ds_path)
    out = bytearray()
    step = 64 * 1024
    for offset in range(0, length, step):
        out += fx.read_data(local, sim.datastore_root, offset,
                            min(step, length - offset))
    return bytes(out)


def frozen_files(inv, snapshot_ref):
    devices = fx.array(inv.prop(snapshot_ref, 'config.hardware.device'),
                       'VirtualDevice')
    return [d.backing.fileName for d in devices
            if d.__class__.__name__ == 'VirtualDisk']


def snapshot_ref(inv, vm, name):
    todo = list(inv.prop(vm, 'snapshot').rootSnapshotList)
    while todo:
        node = todo.pop(0)
        if node.name == name:
            return node
        todo.extend(getattr(node, 'childSnapshotList', None) or [])
    return None


# --- snapshot tree -----------------------------------------------------------

def test_snapshot_tree_of_a_vm(conf, inv):
    rows = run_json(conf, 'snapshot', 'tree', '--vm', 'snappy')
    vm = inv.vm('snappy')
    info = inv.prop(vm, 'snapshot')
    assert [r['Path'] for r in rows] == ['first', 'first/second']
    assert rows[0]['Description'] == 'one'
    # The current snapshot is the one vCenter says.
    [current] = [r for r in rows if r['Current']]
    assert current['Id'] == info.currentSnapshot.value
    first = snapshot_ref(inv, vm, 'first')
    assert rows[0]['Disk files'].split('\n') == frozen_files(
        inv, first.snapshot)
    assert rows[0]['Created'] and rows[0]['Created'][:4].isdigit()


def test_snapshot_tree_by_cinder_volume(conf, driver, ctx, inv):
    vol = backed_volume(driver, ctx, inv)
    snap = cinder_snapshot(driver, ctx, vol)
    rows = run_json(conf, 'snapshot', 'tree', '--volume', vol.id)
    assert [r['Name'] for r in rows] == [snap.name]
    assert rows[0]['Current'] is True


def test_snapshot_tree_of_unknown_volume_fails_in_one_line(conf):
    code, out, err = run(conf, 'snapshot', 'tree', '--volume',
                         '00000000-0000-0000-0000-000000000000')
    assert code == 1 and out == ''
    assert 'has no backing VM' in err and 'Traceback' not in err


# --- snapshot rename ---------------------------------------------------------

def test_snapshot_rename_and_description(conf, inv):
    vm = inv.vm('snappy')
    code, out, err = run(conf, 'snapshot', 'rename', '--vm', 'snappy',
                         'first/second', 'renamed', '--description', 'new')
    assert code == 0, err
    assert 'renamed to renamed' in out
    node = snapshot_ref(inv, vm, 'renamed')
    assert node is not None and node.description == 'new'
    assert snapshot_ref(inv, vm, 'second') is None
    run(conf, 'snapshot', 'rename', '--vm', 'snappy', 'renamed', 'second')
    assert snapshot_ref(inv, vm, 'second') is not None


def test_snapshot_rename_dry_run_changes_nothing(conf, inv):
    code, out, _err = run(conf, 'snapshot', 'rename', '--vm', 'snappy',
                          'first', 'other', '--dry-run')
    assert code == 0 and out.startswith('would be:')
    assert snapshot_ref(inv, inv.vm('snappy'), 'first') is not None


def test_snapshot_rename_refuses_cinder_names(conf, driver, ctx, inv):
    vol = backed_volume(driver, ctx, inv)
    snap = cinder_snapshot(driver, ctx, vol)
    code, _out, err = run(conf, 'snapshot', 'rename', '--volume', vol.id,
                          snap.name, 'mine')
    assert code == 1 and 'Cinder finds the snapshot' in err
    assert snapshot_ref(inv, inv.vm(vol.name), snap.name) is not None
    # Nor may another snapshot of a backing take a Cinder name.
    code, _out, err = run(conf, 'snapshot', 'rename', '--vm', 'snappy',
                          'first', 'snapshot-' + vol.id)
    assert code == 0  # snappy backs no volume: the name means nothing
    run(conf, 'snapshot', 'rename', '--vm', 'snappy', 'snapshot-' + vol.id,
        'first')
    code, _out, err = run(conf, 'snapshot', 'rename', '--vm', 'snappy',
                          'nosuch', 'x')
    assert code == 1 and "has no snapshot 'nosuch'" in err


# --- snapshot export ---------------------------------------------------------

def test_snapshot_export_downloads_the_frozen_disks(conf, sim, inv,
                                                    tmp_path):
    vm = inv.vm('snappy')
    first = snapshot_ref(inv, vm, 'first')
    frozen = frozen_files(inv, first.snapshot)
    before = sim.request_counts()
    target = tmp_path / 'export'
    rows = run_json(conf, 'snapshot', 'export', '--vm', 'snappy', 'first',
                    str(target))
    after = sim.request_counts()
    assert len(rows) == len(frozen) == 2
    sums = (target / 'SHA256SUMS').read_text().splitlines()
    for row, ds_path, line in zip(rows, frozen, sums):
        data = open(row['File'], 'rb').read()
        assert row['Bytes'] == len(data)
        assert row['SHA-256'] == hashlib.sha256(data).hexdigest()
        assert line == '%s  %s' % (row['SHA-256'],
                                   os.path.basename(row['File']))
        disk, descriptor = vcsim.read_stream_optimized(data)
        assert 'streamOptimized' in descriptor
        assert disk == logical_bytes(sim, ds_path, inv, len(disk))
    assert sorted(os.listdir(target)) == ['SHA256SUMS', 'disk-0.vmdk',
                                          'disk-1.vmdk']
    # The lease was kept informed and completed, never aborted.
    assert after.get('HttpNfcLeaseProgress', 0) > \
        before.get('HttpNfcLeaseProgress', 0)
    assert after.get('HttpNfcLeaseComplete', 0) == \
        before.get('HttpNfcLeaseComplete', 0) + 1
    assert after.get('HttpNfcLeaseAbort', 0) == \
        before.get('HttpNfcLeaseAbort', 0)

    # Never over an earlier export.
    code, _out, err = run(conf, 'snapshot', 'export', '--vm', 'snappy',
                          'first', str(target))
    assert code == 1 and 'already holds an export' in err


def test_failed_export_aborts_the_lease_and_leaves_no_file(conf, sim,
                                                           tmp_path):
    sim.inject_fault('HttpNfcLeaseProgress', 'SystemError', count=1)
    before = sim.request_counts()
    target = tmp_path / 'failed'
    code, _out, err = run(conf, 'snapshot', 'export', '--vm', 'snappy',
                          'first', str(target))
    after = sim.request_counts()
    assert code == 1 and 'Traceback' not in err
    assert after.get('HttpNfcLeaseAbort', 0) == \
        before.get('HttpNfcLeaseAbort', 0) + 1
    assert after.get('HttpNfcLeaseComplete', 0) == \
        before.get('HttpNfcLeaseComplete', 0)
    assert os.listdir(target) == []


def test_snapshot_export_dry_run(conf, sim, inv, tmp_path):
    before = sim.request_counts().get('ExportSnapshot', 0)
    rows = run_json(conf, 'snapshot', 'export', '--vm', 'snappy', 'first',
                    str(tmp_path / 'dry'), '--dry-run')
    assert len(rows) == 2
    assert sim.request_counts().get('ExportSnapshot', 0) == before
    assert not (tmp_path / 'dry').exists()


# --- disk list / show --------------------------------------------------------

def test_disk_list_of_a_vm(conf, inv):
    rows = run_json(conf, 'disk', 'list', '--vm', 'snappy')
    devices = inv.disks(inv.vm('snappy'))
    assert sorted(r['Path'] for r in rows) == sorted(
        d.backing.fileName for d in devices)
    by_path = {r['Path']: r for r in rows}
    for device in devices:
        row = by_path[device.backing.fileName]
        assert row['Capacity (bytes)'] == device.capacityInBytes
        assert row['UUID'] == device.backing.uuid
        assert row['VM'] == 'snappy' and row['Power state'] == 'poweredOff'
        # After two snapshots each top file is a delta on the base.
        parents = row['Parents'].split('\n')
        assert len(parents) == 2 and parents[-1].endswith(
            ('snappy.vmdk', 'data/d.vmdk'))
        assert row['Cinder volume'] == ''
    assert {r['Provisioning'] for r in rows} == {'thin', 'thick'}
    for form in ('yaml', 'csv', 'value', 'table'):
        code, out, err = run(conf, 'disk', 'list', '--vm', 'snappy', '-f',
                             form)
        assert code == 0 and 'snappy' in out, err
    code, out, err = run(conf, 'snapshot', 'tree', '--vm', 'snappy', '-f',
                         'yaml')
    assert code == 0 and 'first/second' in out, err


def test_disk_list_of_a_volume_names_its_owner(conf, driver, ctx, inv):
    vol = backed_volume(driver, ctx, inv)
    [row] = run_json(conf, 'disk', 'list', '--volume', vol.id)
    assert row['Cinder volume'] == vol.id
    assert row['Path'] == inv.disk(inv.vm(vol.name)).backing.fileName


def test_disk_list_of_a_datastore_has_loose_disks_too(conf, inv):
    rows = run_json(conf, 'disk', 'list', '--datastore', 'gold-ds')
    paths = {r['Path']: r for r in rows}
    assert '[gold-ds] loose/free.vmdk' in paths
    assert paths['[gold-ds] loose/free.vmdk']['VM'] == ''
    running = inv.disk(inv.vm('running')).backing.fileName
    assert paths[running]['Power state'] == 'poweredOn'
    assert all(p.startswith('[gold-ds] ') for p in paths)


def test_disk_show_and_bad_paths(conf, inv):
    code, out, err = run(conf, 'disk', 'show', '[gold-ds] loose/free.vmdk',
                         '-f', 'json')
    assert code == 0, err
    import json
    shown = json.loads(out)
    assert shown['Capacity (bytes)'] == fx.capacity_bytes(
        inv.local_path('[gold-ds] loose/free.vmdk'))
    for bad, message in (('loose/free.vmdk', 'not a datastore path'),
                         ('[gold-ds] loose/free.txt', 'not a VMDK'),
                         ('[gold-ds] nope.vmdk', 'no disk'),
                         ('[nods] x.vmdk', 'no datastore named')):
        code, out, err = run(conf, 'disk', 'show', bad)
        assert code == 1 and message in err and 'Traceback' not in err
