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
"""``cinder-vmware cluster`` and the changing ``datastore`` commands
against the simulator: each effect read back through an independent
session, each refusal (one line, exit code non-zero, nothing changed),
undo after a partial failure, and the HA reason of ``datastore show``."""

import io
import json

import pytest

pytest.importorskip('tests.functional.driver_fixtures')

from cinder_vmware_ext.cmd import backend  # noqa: E402
from cinder_vmware_ext.cmd import cluster  # noqa: E402
from cinder_vmware_ext.cmd import datastore  # noqa: E402
from cinder_vmware_ext.cmd import main as cli  # noqa: E402
from cinder_vmware_ext.core import eligibility  # noqa: E402
from tests.functional import driver_fixtures as fx  # noqa: E402

VOLUME = '5c1e0000-1111-4222-8333-944455556666'
G = [{'host': 'g1'}, {'host': 'g2'}]
DISK1 = 'naa.6000c290000000000000000000000001'


def _ds(name, type_, hosts, **extra):
    return dict({'name': name, 'type': type_, 'capacity_gb': 100,
                 'free_gb': 80, 'mounts': hosts}, **extra)


TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [
        {'name': 'gold', 'hosts': [{'name': 'g1'}, {'name': 'g2'},
                                   {'name': 'g3'}],
         'ha': {'failover_hosts': ['g3']}},
        {'name': 'silver', 'hosts': [{'name': 's1'}]},
        # not this backend's: one with a Cinder backing, one empty
        {'name': 'busy', 'hosts': [{'name': 'b1'}]},
        {'name': 'spare', 'hosts': [{'name': 'sp1', 'maintenance': True}]},
        # empty but for a datastore only its host mounts, where Cinder
        # promised a lazily created volume
        {'name': 'lazy', 'hosts': [{'name': 'lz1', 'maintenance': True}]}],
    'datastores': [
        _ds('ds-a', 'VMFS', G),
        _ds('ds-b', 'NFS', G),
        _ds('ds-empty', 'NFS', G),
        _ds('ds-r', 'VMFS', G),
        _ds('ds-fo', 'VMFS', [{'host': 'g3'}]),
        _ds('ds-busy', 'VMFS', [{'host': 'b1'}]),
        _ds('ds-lazy', 'VMFS', [{'host': 'lz1'}])],
    'vms': [
        {'name': 'vm-user', 'host': 'g1', 'power_state': 'poweredOff',
         'disks': [{'datastore': 'ds-a', 'path': 'vm-user/vm-user.vmdk',
                    'capacity_gb': 1, 'thin': True}]},
        {'name': 'volume-' + VOLUME, 'host': 'b1',
         'power_state': 'poweredOff',
         'disks': [{'datastore': 'ds-busy',
                    'path': 'volume-%s/volume-%s.vmdk' % (VOLUME, VOLUME),
                    'capacity_gb': 1, 'thin': True}]}],
    'files': [
        # a Cinder volume's disk with no VM (a detached takeover, say)
        {'datastore': 'ds-b', 'path': 'volume-%s/data.vmdk' % VOLUME,
         'capacity_gb': 1, 'thin': True}],
}]}

OPTIONS = dict(vmware_cluster_name=['gold', 'silver'],
               vmware_datastore_regex='^ds-.*', vmware_lazy_create=True)


@pytest.fixture(scope='module')
def one_login():
    """Run every command of the module on one vCenter session.

    Every command of this module on one real vCenter session: a session
    parses the WSDL (seconds on a shared CI core), which each command
    process would do once; here they all run in one process.
    """
    real, sessions = backend.session, {}

    def shared(section):
        key = (section.vmware_host_ip, section.vmware_host_port)
        if key not in sessions:
            sessions[key] = real(section)
        return sessions[key]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backend, 'session', shared)
        yield
    for session in sessions.values():
        session.logout()


def write_conf(sim, directory, **options):
    return fx.write_cinder_conf(sim, directory / 'cinder.conf', **options)


@pytest.fixture(scope='module')
def conf(sim, cinder_db, tmp_path_factory, one_login):
    return write_conf(sim, tmp_path_factory.mktemp('conf'), **OPTIONS)


def run(conf, *argv):
    """(exit code, stdout, stderr) of one cinder-vmware command."""
    app = cli.CinderVmwareApp()
    app.stdout, app.stderr = io.StringIO(), io.StringIO()
    try:
        code = app.run(['--config-file', conf] + list(argv))
    except SystemExit as exit_:   # argparse's usage errors
        code = exit_.code
    return code, app.stdout.getvalue(), app.stderr.getvalue()


def usage_error(conf, *argv):
    """A command line argparse rejects (exit code 2, nothing run)."""
    code, out, _err = run(conf, *argv)
    assert code == 2, (argv, code, out)


def refused(conf, *argv):
    """The one-line error of a command that must fail."""
    code, out, err = run(conf, *argv)
    assert code != 0, (argv, out)
    assert 'Traceback' not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, argv
    return lines[-1]


def mounts_of(inv, name):
    ref = inv.by_name('Datastore', name)
    if ref is None:
        return None
    hosts = {v: p['name'] for v, p in inv.objects('HostSystem').items()}
    found = fx.array(inv.prop(ref, 'host'), 'DatastoreHostMount')
    return {hosts[m.key.value]: m.mountInfo.accessMode for m in found}


# -- cluster ----------------------------------------------------------------

def test_cluster_list(conf):
    code, out, _err = run(conf, 'cluster', 'list', '-f', 'json')
    assert code == 0, out
    rows = {r['Name']: r for r in json.loads(out)}
    assert set(rows) == {'gold', 'silver', 'busy', 'spare', 'lazy'}
    assert rows['gold']['Hosts'] == 'g1, g2, g3'
    assert rows['gold']['Pool of this backend'] is True
    assert rows['busy']['Pool of this backend'] is False
    assert (rows['busy']['VMs'], rows['busy']['Cinder volumes']) == (1, 1)
    assert (rows['gold']['VMs'], rows['gold']['Cinder volumes']) == (1, 0)
    assert 'ds-a' in rows['gold']['Datastores']


def test_cluster_create_and_delete(conf, inv):
    code, out, _err = run(conf, 'cluster', 'create', 'newc', '--datacenter',
                          'DC1', '--dry-run')
    assert (code, out) == (0, 'would create cluster newc in datacenter '
                              'DC1\n')
    assert inv.by_name('ClusterComputeResource', 'newc') is None
    code, out, _err = run(conf, 'cluster', 'create', 'newc', '--datacenter',
                          'DC1')
    assert code == 0 and out.startswith('created cluster newc'), out
    ref = inv.by_name('ClusterComputeResource', 'newc')
    assert ref is not None
    assert inv.name_of(inv.prop(inv.prop(ref, 'parent'), 'parent')) == 'DC1'
    assert 'already exists' in refused(conf, 'cluster', 'create', 'newc',
                                       '--datacenter', 'DC1')
    assert 'datacenter DCX: no such datacenter' in refused(
        conf, 'cluster', 'create', 'other', '--datacenter', 'DCX')
    # --datacenter is required
    usage_error(conf, 'cluster', 'create', 'other')

    code, out, _err = run(conf, 'cluster', 'delete', 'newc', '--dry-run')
    assert code == 0 and out.startswith('would delete cluster newc'), out
    assert inv.by_name('ClusterComputeResource', 'newc') is not None
    code, out, _err = run(conf, 'cluster', 'delete', 'newc',
                          '--datacenter', 'DC1')
    assert code == 0 and out.startswith('deleted cluster newc'), out
    assert inv.by_name('ClusterComputeResource', 'newc') is None
    assert 'no such cluster' in refused(conf, 'cluster', 'delete', 'newc')


def test_cluster_delete_refusals(conf, inv):
    line = refused(conf, 'cluster', 'delete', 'gold')
    assert 'a pool of this backend names it' in line, line
    line = refused(conf, 'cluster', 'delete', 'busy')
    assert 'Cinder volumes %s' % VOLUME in line, line
    for name in ('gold', 'busy'):
        assert inv.by_name('ClusterComputeResource', name) is not None
    # a volume promised (lazy create, no backing yet) on a datastore only
    # its hosts mount
    from cinder_vmware_ext.core import promises
    ctx = fx.admin_context()
    promised = fx.new_volume(ctx, host='functional@vmware#gold')
    promised.provider_location = promises.Promise(
        inv.session.vim.service_content.about.instanceUuid,
        inv.by_name('Datastore', 'ds-lazy').value, 1024 ** 3,
        promises.THIN).location()
    promised.save()
    line = refused(conf, 'cluster', 'delete', 'lazy')
    assert ('datastore ds-lazy, mounted only by its hosts, holds Cinder '
            'volumes %s' % promised.id) in line, line
    assert inv.by_name('ClusterComputeResource', 'lazy') is not None
    promised.destroy()
    # an empty cluster whose hosts are in maintenance goes, hosts included
    code, out, _err = run(conf, 'cluster', 'delete', 'spare')
    assert code == 0 and 'hosts: sp1' in out, out
    assert inv.by_name('ClusterComputeResource', 'spare') is None
    assert inv.by_name('HostSystem', 'sp1') is None


# -- datastore create --------------------------------------------------------

def test_create_nfs_on_a_cluster_and_on_hosts(conf, inv, sim):
    argv = ('datastore', 'create', 'nfs', 'ds-new', '--remote-host',
            'nfs1.example.org', '--remote-path', '/export/new',
            '--cluster', 'gold')
    code, out, _err = run(conf, *argv + ('--dry-run',))
    assert code == 0 and out.startswith('would create NFS 3'), out
    assert inv.by_name('Datastore', 'ds-new') is None
    code, out, _err = run(conf, *argv)
    assert code == 0 and 'on hosts g1, g2, g3' in out, out
    assert mounts_of(inv, 'ds-new') == {h: 'readWrite'
                                        for h in ('g1', 'g2', 'g3')}
    nas = inv.prop(inv.by_name('Datastore', 'ds-new'), 'info').nas
    assert (nas.remoteHost, nas.remotePath, nas.type) == (
        'nfs1.example.org', '/export/new', 'NFS')
    assert 'already exists' in refused(conf, *argv)

    code, out, _err = run(conf, 'datastore', 'create', 'nfs', 'ds-41',
                          '--remote-host', 'nfs1.example.org',
                          '--remote-path', '/export/41', '--host', 's1',
                          '--host', 'g1', '--nfs-version', '4.1',
                          '--read-only')
    assert code == 0, out
    assert mounts_of(inv, 'ds-41') == {'s1': 'readOnly', 'g1': 'readOnly'}
    assert inv.summary('ds-41').type == 'NFS41'

    assert 'host nope: no such host' in refused(
        conf, 'datastore', 'create', 'nfs', 'ds-x', '--remote-host', 'h',
        '--remote-path', '/x', '--host', 'nope')
    assert 'must be absolute' in refused(
        conf, 'datastore', 'create', 'nfs', 'ds-x', '--remote-host', 'h',
        '--remote-path', 'x', '--host', 'g1')
    # --cluster and --host exclude each other; one is required
    usage_error(conf, 'datastore', 'create', 'nfs', 'ds-x', '--remote-host',
                'h', '--remote-path', '/x')
    assert inv.by_name('Datastore', 'ds-x') is None


def test_create_nfs_undone_when_a_host_fails(conf, inv, sim):
    sim.inject_fault('CreateNasDatastore', 'HostConfigFault', skip=1,
                     count=1, message='mount failed')
    try:
        line = refused(conf, 'datastore', 'create', 'nfs', 'ds-half',
                       '--remote-host', 'nfs1.example.org', '--remote-path',
                       '/export/half', '--cluster', 'gold')
    finally:
        sim.clear_faults()
    assert 'host g2' in line and 'undone on 1 host(s)' in line, line
    assert inv.by_name('Datastore', 'ds-half') is None


def test_create_vmfs(conf, inv):
    argv = ('datastore', 'create', 'vmfs', 'ds-vmfs', '--host', 'g1',
            '--disk', DISK1)
    code, out, _err = run(conf, *argv + ('--dry-run',))
    assert code == 0 and out.startswith('would create VMFS'), out
    assert inv.by_name('Datastore', 'ds-vmfs') is None
    code, out, _err = run(conf, *argv)
    assert code == 0, out
    summary = inv.summary('ds-vmfs')
    assert (summary.type, summary.capacity) == ('VMFS', 100 * 2 ** 30)
    extents = inv.prop(inv.by_name('Datastore', 'ds-vmfs'), 'info').vmfs
    assert [e.diskName for e in fx.array(extents.extent,
                                         'HostScsiDiskPartition')] == [DISK1]
    # the disk is taken now
    line = refused(conf, 'datastore', 'create', 'vmfs', 'ds-vmfs2',
                   '--host', 'g2', '--disk', DISK1)
    assert 'not a disk of host g2 free for VMFS' in line, line
    assert 'disk sda' in refused(conf, 'datastore', 'create', 'vmfs',
                                 'ds-vmfs2', '--host', 'g2', '--disk', 'sda')
    assert inv.by_name('Datastore', 'ds-vmfs2') is None


# -- rename, remove ----------------------------------------------------------

def test_rename(conf, inv):
    ref = inv.by_name('Datastore', 'ds-r')
    code, out, _err = run(conf, 'datastore', 'rename', 'ds-r', 'ds-r2',
                          '--dry-run')
    assert (code, out) == (0, 'would rename datastore ds-r to ds-r2\n')
    assert inv.name_of(ref) == 'ds-r'
    line = refused(conf, 'datastore', 'rename', 'ds-r', 'x-r')
    assert 'vmware_datastore_regex ^ds-.* matches ds-r but not x-r' in line
    assert 'stop using' in line
    assert 'already named ds-a' in refused(conf, 'datastore', 'rename',
                                           'ds-r', 'ds-a')
    assert 'no such datastore' in refused(conf, 'datastore', 'rename',
                                          'ds-nope', 'ds-z')
    assert inv.name_of(ref) == 'ds-r'
    code, out, _err = run(conf, 'datastore', 'rename', 'ds-r', 'ds-r2')
    assert code == 0, out
    assert inv.name_of(ref) == 'ds-r2'
    assert inv.summary('ds-r2').name == 'ds-r2'


def test_rename_in_datastore_pool_mode(sim, conf, inv, tmp_path):
    # the busy cluster's backend, one pool per datastore: ds-busy holds a
    # Cinder volume whose host#pool names ds-busy
    by_datastore = write_conf(sim, tmp_path, vmware_cluster_name=['busy'],
                              vmware_pool_mode='datastore',
                              vmware_lazy_create=True)
    line = refused(by_datastore, 'datastore', 'rename', 'ds-busy',
                   'ds-busy2')
    assert 'in datastore pool mode' in line and VOLUME in line, line
    assert inv.summary('ds-busy').name == 'ds-busy'
    line = refused(by_datastore, 'datastore', 'remove', 'ds-busy')
    assert 'Cinder volumes %s are on it' % VOLUME in line, line
    assert 'datastore evacuate ds-busy' in line, line
    assert mounts_of(inv, 'ds-busy') == {'b1': 'readWrite'}


def test_remove_refusals(conf, inv):
    line = refused(conf, 'datastore', 'remove', 'ds-a')
    assert 'VMs vm-user have files on it' in line, line
    line = refused(conf, 'datastore', 'remove', 'ds-b')
    assert 'Cinder owns files on it' in line and VOLUME in line, line
    assert mounts_of(inv, 'ds-a') == {'g1': 'readWrite', 'g2': 'readWrite'}
    assert mounts_of(inv, 'ds-b') == {'g1': 'readWrite', 'g2': 'readWrite'}


def test_remove_undone_when_a_host_fails(conf, inv, sim):
    sim.inject_fault('RemoveDatastore', 'HostConfigFault', skip=1, count=1,
                     message='busy')
    try:
        line = refused(conf, 'datastore', 'remove', 'ds-empty')
    finally:
        sim.clear_faults()
    assert 'mounted again on g1' in line, line
    assert mounts_of(inv, 'ds-empty') == {'g1': 'readWrite',
                                          'g2': 'readWrite'}


def test_remove(conf, inv, sim):
    code, out, _err = run(conf, 'datastore', 'remove', 'ds-empty',
                          '--dry-run')
    assert code == 0 and out.startswith('would remove datastore ds-empty '
                                        'from hosts g1, g2'), out
    assert inv.by_name('Datastore', 'ds-empty') is not None
    code, out, _err = run(conf, 'datastore', 'remove', 'ds-empty')
    assert code == 0, out
    assert inv.by_name('Datastore', 'ds-empty') is None


# -- Storage I/O Control, HA reason ------------------------------------------

def test_io_control(conf, inv):
    ref = inv.by_name('Datastore', 'ds-a')
    code, out, _err = run(conf, 'datastore', 'io-control', 'set', 'ds-a',
                          '--enable', '--congestion-threshold-ms', '40',
                          '--stats-collection', '--dry-run')
    assert code == 0 and out.startswith('would set'), out
    assert inv.prop(ref, 'iormConfiguration').enabled is False
    code, out, _err = run(conf, 'datastore', 'io-control', 'set', 'ds-a',
                          '--enable', '--congestion-threshold-ms', '40',
                          '--stats-collection')
    assert code == 0, out
    iorm = inv.prop(ref, 'iormConfiguration')
    assert (iorm.enabled, iorm.congestionThresholdMode,
            iorm.congestionThreshold, iorm.statsCollectionEnabled) == (
        True, 'manual', 40, True)
    code, out, _err = run(conf, 'datastore', 'io-control', 'show', 'ds-a',
                          '-f', 'json')
    assert code == 0, out
    shown = json.loads(out)
    assert (shown['enabled'], shown['congestionThreshold']) == (True, 40)
    code, out, _err = run(conf, 'datastore', 'io-control', 'set', 'ds-a',
                          '--disable', '--percent-of-peak', '70',
                          '--no-stats-collection')
    assert code == 0, out
    iorm = inv.prop(ref, 'iormConfiguration')
    assert (iorm.enabled, iorm.congestionThresholdMode,
            iorm.percentOfPeakThroughput, iorm.statsCollectionEnabled) == (
        False, 'automatic', 70, False)
    assert 'must be 5-100' in refused(conf, 'datastore', 'io-control', 'set',
                                      'ds-a', '--enable',
                                      '--congestion-threshold-ms', '3')
    usage_error(conf, 'datastore', 'io-control', 'set', 'ds-a', '--enable',
                '--disable')
    usage_error(conf, 'datastore', 'io-control', 'set', 'ds-a', '--enable',
                '--congestion-threshold-ms', '40', '--percent-of-peak', '70')
    assert inv.prop(ref, 'iormConfiguration').enabled is False


def test_show_says_failover_only(conf):
    code, out, _err = run(conf, 'datastore', 'show', 'ds-fo', '-f', 'json')
    assert code == 0, out
    assert json.loads(out)['Pools'] == 'gold: %s' % eligibility.FAILOVER_ONLY


def test_vcenter_only_commands_need_no_cinder_auth():
    commands = dict(cluster.COMMANDS, **datastore.COMMANDS)
    assert len(commands) == 14
    assert [n for n, c in commands.items() if c.auth_required] == []
