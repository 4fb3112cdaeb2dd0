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
"""``cinder-vmware disk create | copy | move | extend | delete | search``
against the simulator: effects read from the datastore files and through
an independent session; every refusal (a VM's disk, a snapshot chain's
parent, a Cinder volume's disk, an existing DEST) leaves the files as
they were."""

import io
import json
import os

import pytest

pytest.importorskip('tests.functional.driver_fixtures')

from cinder_vmware_ext.cmd import main as cli  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402

GOLD = 'functional@vmware#gold'
MIB = 1024 * 1024
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
         'disks': [{'datastore': 'gold-ds', 'capacity_gb': 0.01}],
         'snapshots': [{'name': 'first'}]}],
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


def gib_bytes(gib):
    """What a disk of ``gib`` GiB holds (whole KiB, as vSphere sizes)."""
    return int(gib * MIB) * 1024


@pytest.fixture(scope='module', autouse=True)
def one_session():
    """Run every command of the module on one vCenter session.

    Every command of the module on one real vCenter session (each run
    would otherwise log in and parse the WSDL again, seconds a run on a
    busy machine); the commands are unchanged otherwise.
    """
    from cinder_vmware_ext.cmd import backend
    from cinder_vmware_ext.cmd import toolkit
    made = []
    real = backend.session

    def session(section):
        if not made:
            made.append(real(section))
        return made[0]

    patch = pytest.MonkeyPatch()
    patch.setattr(backend, 'session', session)
    patch.setattr(toolkit.Connection, 'close', lambda self: None)
    yield
    patch.undo()
    for made_session in made:
        made_session.logout()


def run(conf, *argv):
    app = cli.CinderVmwareApp()
    out, err = io.StringIO(), io.StringIO()
    app.stdout, app.stderr = out, err
    code = app.run(['--config-file', conf] + list(argv))
    return code, out.getvalue(), err.getvalue()


def refused(conf, message, *argv):
    code, out, err = run(conf, *argv)
    assert code == 1, (out, err)
    assert message in err, err
    assert 'Traceback' not in err and len(err.strip().splitlines()) == 1
    return err


def exists(inv, ds_path):
    return os.path.exists(inv.local_path(ds_path))


def test_create_each_provisioning_and_dry_run(conf, inv):
    code, out, err = run(conf, 'disk', 'create', '[gold-ds] new/a.vmdk',
                         '0.5', '--dry-run')
    assert code == 0 and out.startswith('would create'), err
    assert not exists(inv, '[gold-ds] new/a.vmdk')
    for name, flag, thin in (('a', '--thin', True), ('b', '--thick', False),
                             ('c', '--eager-zeroed', False)):
        path = '[gold-ds] new/%s.vmdk' % name
        free = inv.summary('gold-ds').freeSpace
        code, out, err = run(conf, 'disk', 'create', path, '0.01', flag)
        assert code == 0, err
        assert out.startswith('created %s' % path)
        local = inv.local_path(path)
        assert fx.capacity_bytes(local) == gib_bytes(0.01)
        desc = fx.read_descriptor(local)
        assert (desc.get('ddb.thinProvisioned') == '1') == thin, desc
        # A thick disk is charged to the datastore at once.
        charged = free - inv.summary('gold-ds').freeSpace
        assert charged == (0 if thin else gib_bytes(0.01)), (name, charged)
    refused(conf, 'exists already', 'disk', 'create',
            '[gold-ds] new/a.vmdk', '1')


def test_bad_input_is_one_line(conf, inv):
    for argv, message in (
            (('create', 'nopath.vmdk', '1'), 'not a datastore path'),
            (('create', '[gold-ds] x.txt', '1'), 'not a VMDK'),
            (('create', '[gold-ds] ../x.vmdk', '1'), 'leaves datastore'),
            (('create', '[nods] x.vmdk', '1'), "no datastore named 'nods'"),
            (('create', '[gold-ds] x.vmdk', '-2'), 'not a positive'),
            (('copy', '[gold-ds] nope.vmdk', '[gold-ds] n2.vmdk'),
             'no disk [gold-ds] nope.vmdk'),
            (('extend', '[gold-ds] loose/free.vmdk', '0.001'),
             'not larger than'),
            (('delete', '[gold-ds] nope.vmdk'), 'no disk')):
        refused(conf, message, 'disk', *argv)
    assert not exists(inv, '[gold-ds] x.vmdk')


def test_copy_keeps_the_bytes_and_never_overwrites(conf, sim, inv):
    source = '[gold-ds] loose/free.vmdk'
    data = fx.pattern(1)
    fx.write_data(inv.local_path(source), 0, data)
    code, out, err = run(conf, 'disk', 'copy', source,
                         '[other-ds] copies/free.vmdk')
    assert code == 0 and out.startswith('copied'), err
    local = inv.local_path('[other-ds] copies/free.vmdk')
    assert fx.read_data(local, sim.datastore_root, 0, len(data)) == data
    assert exists(inv, source)
    # Never over an existing file; the file is untouched.
    before = open(fx.data_file(local), 'rb').read(len(data))
    refused(conf, 'exists already', 'disk', 'copy', '[gold-ds] new/a.vmdk',
            '[other-ds] copies/free.vmdk')
    assert open(fx.data_file(local), 'rb').read(len(data)) == before
    # Dry run: nothing made.
    code, out, _err = run(conf, 'disk', 'copy', source,
                          '[other-ds] copies/dry.vmdk', '--dry-run')
    assert code == 0 and out.startswith('would copy')
    assert not exists(inv, '[other-ds] copies/dry.vmdk')


def test_move_extend_delete_a_loose_disk(conf, sim, inv):
    src = '[gold-ds] new/b.vmdk'
    data = fx.pattern(2)
    fx.write_data(inv.local_path(src), 4096, data)
    code, out, err = run(conf, 'disk', 'move', src,
                         '[other-ds] moved/b.vmdk')
    assert code == 0 and out.startswith('moved'), err
    assert not exists(inv, src)
    moved = '[other-ds] moved/b.vmdk'
    assert fx.read_data(inv.local_path(moved), sim.datastore_root, 4096,
                        len(data)) == data
    code, out, err = run(conf, 'disk', 'extend', moved, '0.02', '--dry-run')
    assert code == 0 and out.startswith('would extend')
    assert fx.capacity_bytes(inv.local_path(moved)) == gib_bytes(0.01)
    code, out, err = run(conf, 'disk', 'extend', moved, '0.02')
    assert code == 0, err
    assert fx.capacity_bytes(inv.local_path(moved)) == gib_bytes(0.02)
    code, out, err = run(conf, 'disk', 'delete', moved, '--dry-run')
    assert code == 0 and exists(inv, moved)
    code, out, err = run(conf, 'disk', 'delete', moved)
    assert code == 0 and out.startswith('deleted'), err
    assert not exists(inv, moved)


def test_refuses_vm_disks_chain_parents_and_cinder_volumes(conf, driver,
                                                           ctx, inv):
    vm = inv.vm('snappy')
    top = inv.disk(vm).backing
    base = top.parent.fileName
    for verb in ('move', 'delete', 'extend'):
        extra = {'move': ['[other-ds] x.vmdk'], 'extend': ['5'],
                 'delete': []}[verb]
        refused(conf, 'is a disk of VM snappy', 'disk', verb,
                top.fileName, *extra)
        refused(conf, 'snapshot chain of VM snappy needs it', 'disk', verb,
                base, *extra)
    assert exists(inv, top.fileName) and exists(inv, base)
    assert not exists(inv, '[other-ds] x.vmdk')

    vol = fx.new_volume(ctx, host=GOLD)
    driver.create_volume(vol)
    driver.initialize_connection(vol, {'host': 'compute-1',
                                       'ip': '127.0.0.1'})
    disk = inv.disk(inv.vm(vol.name)).backing.fileName
    refused(conf, 'Cinder volume %s' % vol.id, 'disk', 'delete', disk)
    refused(conf, 'Cinder volume %s' % vol.id, 'disk', 'move', disk,
            '[other-ds] stolen.vmdk')
    assert exists(inv, disk)
    # Copying a Cinder disk is allowed (it reads only).
    code, _out, err = run(conf, 'disk', 'copy', disk,
                          '[other-ds] copy-of-volume.vmdk')
    assert code == 0, err


def test_search(conf, inv):
    code, out, err = run(conf, 'disk', 'search', '*free*', '-f', 'json')
    assert code == 0, err
    paths = sorted(r['Path'] for r in json.loads(out))
    assert paths == ['[gold-ds] loose/free.vmdk',
                     '[other-ds] copies/free.vmdk']
    code, out, err = run(conf, 'disk', 'search', 'snappy*', '--datastore',
                         'gold-ds', '-f', 'json')
    rows = json.loads(out)
    assert rows and all(r['VM'] == 'snappy' for r in rows)
    assert all(r['Path'].startswith('[gold-ds] ') for r in rows)
    refused(conf, "no datastore named 'nods'", 'disk', 'search', '*',
            '--datastore', 'nods')
