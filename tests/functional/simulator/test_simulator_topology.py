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
"""The simulator's topology loader, checked through oslo.vmware.

One topology uses every schema feature; each figure, flag, mount, VM disk
and file is read back with property reads and from the datastore
directories. Invalid topologies must stop the simulator with a message
naming the bad entry.
"""

import json
import os
import subprocess
import sys

from oslo_vmware import vim_util
import pytest

from tests import simulator as vcsim

GiB = 1 << 30
MiB = 1 << 20
HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGIES = os.path.join(HERE, os.pardir, os.pardir, os.pardir,
                          'tools', 'vcsim', 'topologies')

TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [
        {'name': 'gold', 'hosts': [
            {'name': 'esx-01'},
            {'name': 'esx-02', 'maintenance': True},
            {'name': 'esx-03', 'connection_state': 'disconnected'}]},
        {'name': 'silver', 'hosts': [
            {'name': 'esx-04', 'connection_state': 'notResponding'},
            {'name': 'esx-05'}]},
        {'name': 'empty'}],
    'standalone_hosts': [{'name': 'esx-10'}],
    'datastores': [
        {'name': 'nfs-01', 'type': 'NFS', 'capacity_gb': 2048,
         'free_gb': 900.5, 'uncommitted_gb': 300,
         'accessible': True, 'maintenance_mode': 'normal',
         'mounts': [{'host': 'esx-01'},
                    {'host': 'esx-02', 'access_mode': 'readOnly'},
                    {'host': 'esx-03', 'accessible': False, 'mounted': True},
                    {'host': 'esx-04', 'mounted': False}]},
        {'name': 'vmfs-01', 'type': 'VMFS', 'capacity_gb': 100.25,
         'free_gb': 0.1, 'mounts': [{'host': 'esx-01'}]},
        {'name': 'nfs41-01', 'type': 'NFS41', 'capacity_gb': 10,
         'accessible': False, 'maintenance_mode': 'inMaintenance',
         'mounts': [{'host': 'esx-05'}]},
        {'name': 'vsan-01', 'type': 'vsan', 'capacity_gb': 500,
         'maintenance_mode': 'enteringMaintenance',
         'mounts': [{'host': 'esx-04'}, {'host': 'esx-05'}]},
        {'name': 'vvol-01', 'type': 'VVOL', 'mounts': [{'host': 'esx-10'}]},
        {'name': 'other-01', 'type': 'OTHER', 'capacity_gb': 1,
         'mounts': [{'host': 'esx-10'}]},
        {'name': 'default-01'},
    ],
    'vms': [
        {'name': 'legacy-db', 'host': 'esx-01', 'power_state': 'poweredOn',
         'disks': [{'datastore': 'nfs-01', 'path': 'legacy-db/legacy-db.vmdk',
                    'capacity_gb': 20, 'thin': True},
                   {'datastore': 'vmfs-01', 'path': 'legacy-db/data.vmdk',
                    'capacity_gb': 1.5}]},
        {'name': 'snappy', 'host': 'esx-05', 'power_state': 'poweredOff',
         'disks': [{'datastore': 'vsan-01', 'capacity_gb': 0.5}],
         'snapshots': [{'name': 'first', 'description': 'one'},
                       {'name': 'second'}]},
        {'name': 'sleepy', 'host': 'esx-10', 'power_state': 'suspended',
         'disks': [{'datastore': 'vvol-01', 'path': 'top.vmdk',
                    'capacity_gb': 0.001}]},
        {'name': 'diskless', 'host': 'esx-10'},
    ],
    'files': [
        {'datastore': 'nfs-01', 'path': 'orphans/data 1.vmdk',
         'capacity_gb': 5, 'thin': False},
        {'datastore': 'nfs-01', 'path': 'orphans/volume-[x] #2 (copy).vmdk',
         'capacity_gb': 0.25, 'thin': True},
        {'datastore': 'vsan-01', 'path': 'ünï côdé/d.vmdk'},
    ],
}]}


def pattern_sector(ds_path, offset):
    """The loader's test pattern: see tools/vcsim/topologies/README.md."""
    line = ('%s %d\n' % (ds_path, offset)).encode()
    return (line * (512 // len(line) + 1))[:512]


def objects(session, type_, props):
    """name -> {property: value, '_ref': moref} for every object of type_."""
    result = session.invoke_api(vim_util, 'get_objects', session.vim, type_,
                                1000, props)
    out = {}
    while result:
        for obj in getattr(result, 'objects', []):
            d = {p.name: p.val for p in getattr(obj, 'propSet', [])}
            d['_ref'] = obj.obj
            out[d.get('name', obj.obj.value)] = d
        if not getattr(result, 'token', None):
            break
        result = session.invoke_api(vim_util, 'continue_retrieval',
                                    session.vim, result)
    return out


def refs(value, kind='ManagedObjectReference'):
    """The morefs of an ArrayOf... property value (empty when unset)."""
    return list(getattr(value, kind, []) or []) if value else []


def read_at(path, offset, size):
    with open(path, 'rb') as f:
        f.seek(offset)
        return f.read(size)


def descriptor(path):
    with open(path) as f:
        return f.read()


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    s = vcsim.Simulator.start(TOPOLOGY,
                              workdir=str(tmp_path_factory.mktemp('topo')))
    yield s
    s.stop()


@pytest.fixture(scope='module')
def session(sim):
    return sim.session()


@pytest.fixture(scope='module')
def inv(session):
    """The inventory, read once."""
    return {
        'dc': objects(session, 'Datacenter', ['name', 'datastore']),
        'cluster': objects(session, 'ClusterComputeResource',
                           ['name', 'host', 'datastore', 'resourcePool']),
        'cr': objects(session, 'ComputeResource',
                      ['name', 'host', 'datastore']),
        'host': objects(session, 'HostSystem',
                        ['name', 'parent', 'runtime', 'summary.runtime',
                         'datastore', 'vm']),
        'ds': objects(session, 'Datastore',
                      ['name', 'summary', 'info', 'host', 'vm', 'browser',
                       'iormConfiguration', 'parent']),
        'vm': objects(session, 'VirtualMachine',
                      ['name', 'runtime.powerState', 'runtime.host',
                       'config.hardware.device', 'snapshot', 'datastore',
                       'resourcePool', 'config.files.vmPathName']),
    }


def names_of(inv, kind, morefs):
    by_ref = {d['_ref'].value: name for name, d in inv[kind].items()}
    return sorted(by_ref[r.value] for r in morefs)


def mounted_datastores(host):
    out = set()
    for ds in TOPOLOGY['datacenters'][0]['datastores']:
        if any(m['host'] == host for m in ds.get('mounts', [])):
            out.add(ds['name'])
    return out


def test_datacenter_lists_every_datastore(inv):
    assert list(inv['dc']) == ['DC1']
    dc = inv['dc']['DC1']
    expected = sorted(d['name']
                      for d in TOPOLOGY['datacenters'][0]['datastores'])
    assert names_of(inv, 'ds', refs(dc['datastore'])) == expected


def test_clusters_hosts_and_datastores(inv):
    spec = {c['name']: c for c in TOPOLOGY['datacenters'][0]['clusters']}
    assert sorted(inv['cluster']) == sorted(spec)
    for name, cluster in inv['cluster'].items():
        hosts = [h['name'] for h in spec[name].get('hosts', [])]
        got = names_of(inv, 'host', refs(cluster.get('host')))
        assert got == sorted(hosts)
        expected = set()
        for h in hosts:
            expected |= mounted_datastores(h)
        got = names_of(inv, 'ds', refs(cluster.get('datastore')))
        assert got == sorted(expected)
        assert cluster['resourcePool'].value


def test_standalone_host_has_its_compute_resource(inv):
    host = inv['host']['esx-10']
    assert host['parent']._type == 'ComputeResource'
    cr = inv['cr']['esx-10']
    assert names_of(inv, 'host', refs(cr['host'])) == ['esx-10']
    got = names_of(inv, 'ds', refs(cr['datastore']))
    assert got == ['other-01', 'vvol-01']


@pytest.mark.parametrize('name,maintenance,state', [
    ('esx-01', False, 'connected'),
    ('esx-02', True, 'connected'),
    ('esx-03', False, 'disconnected'),
    ('esx-04', False, 'notResponding'),
    ('esx-05', False, 'connected'),
    ('esx-10', False, 'connected'),
])
def test_host_runtime(inv, name, maintenance, state):
    host = inv['host'][name]
    for runtime in (host['runtime'], host['summary.runtime']):
        assert runtime.inMaintenanceMode is maintenance
        assert runtime.connectionState == state
    got = names_of(inv, 'ds', refs(host.get('datastore')))
    assert got == sorted(mounted_datastores(name))


INFO_TYPES = {'VMFS': 'VmfsDatastoreInfo', 'NFS': 'NasDatastoreInfo',
              'NFS41': 'NasDatastoreInfo', 'vsan': 'VsanDatastoreInfo',
              'VVOL': 'VvolDatastoreInfo', 'OTHER': 'LocalDatastoreInfo'}


def expected_space(spec):
    """free/uncommitted: given, else the README's defaults."""
    dc = TOPOLOGY['datacenters'][0]
    disks = [d for vm in dc['vms'] for d in vm.get('disks', [])] + dc['files']
    thick = sum(round(d.get('capacity_gb', 1) * MiB) * 1024 for d in disks
                if d['datastore'] == spec['name'] and not d.get('thin'))
    thin = sum(round(d.get('capacity_gb', 1) * MiB) * 1024 for d in disks
               if d['datastore'] == spec['name'] and d.get('thin'))
    capacity = round(spec.get('capacity_gb', 1024) * GiB)
    free = (round(spec['free_gb'] * GiB) if 'free_gb' in spec
            else max(capacity - thick, 0))
    uncommitted = (round(spec['uncommitted_gb'] * GiB)
                   if 'uncommitted_gb' in spec else thin)
    return capacity, free, uncommitted


@pytest.mark.parametrize('spec', TOPOLOGY['datacenters'][0]['datastores'],
                         ids=lambda s: s['name'])
def test_datastore_summary_info_and_mounts(sim, inv, spec):
    ds = inv['ds'][spec['name']]
    summary, info = ds['summary'], ds['info']
    kind = spec.get('type', 'VMFS')
    capacity, free, uncommitted = expected_space(spec)
    local = os.path.join(sim.datastore_root, spec['name'])
    assert os.path.isdir(local)
    assert summary.name == spec['name']
    assert summary.type == kind
    assert summary.capacity == capacity
    assert summary.freeSpace == free
    assert getattr(summary, 'uncommitted', 0) == uncommitted
    assert summary.accessible is spec.get('accessible', True)
    assert summary.maintenanceMode == spec.get('maintenance_mode', 'normal')
    assert summary.multipleHostAccess is (len(spec.get('mounts', [])) > 1)
    assert summary.url == local
    assert summary.datastore.value == ds['_ref'].value
    if kind != 'vsan':
        # oslo.vmware's vim 7.0 schema has no VsanDatastoreInfo (a vSAN
        # type), so suds leaves that info untyped, as with a real vCenter.
        assert type(info).__name__ == INFO_TYPES[kind]
        assert info.url == local and info.name == spec['name']
        assert info.freeSpace == free
    if kind == 'VMFS':
        assert info.vmfs.type == 'VMFS' and info.vmfs.capacity == capacity
    if kind in ('NFS', 'NFS41'):
        assert info.nas.type == kind
    assert ds['browser'].value
    assert ds['parent']._type == 'Folder'
    mounts = {m.key.value: m.mountInfo
              for m in refs(ds.get('host'), 'DatastoreHostMount')}
    want = {inv['host'][m['host']]['_ref'].value: m
            for m in spec.get('mounts', [])}
    assert sorted(mounts) == sorted(want)
    for key, m in want.items():
        assert mounts[key].accessMode == m.get('access_mode', 'readWrite')
        assert mounts[key].mounted is m.get('mounted', True)
        assert mounts[key].accessible is m.get('accessible', True)
        assert mounts[key].path == local
    iorm = ds['iormConfiguration']
    assert iorm.enabled is False and iorm.congestionThreshold == 30


def test_datastore_vm_lists(inv):
    dc = TOPOLOGY['datacenters'][0]
    for spec in dc['datastores']:
        users = sorted(vm['name'] for vm in dc['vms']
                       if any(d['datastore'] == spec['name']
                              for d in vm.get('disks', [])))
        if spec['name'] == 'vvol-01':
            users = sorted(users + ['diskless'])  # holds diskless's .vmx
        got = names_of(inv, 'vm', refs(inv['ds'][spec['name']].get('vm')))
        assert got == users, spec['name']


def disk_devices(vm):
    devices = vm['config.hardware.device'].VirtualDevice
    return [d for d in devices if type(d).__name__ == 'VirtualDisk']


@pytest.mark.parametrize('spec', TOPOLOGY['datacenters'][0]['vms'],
                         ids=lambda s: s['name'])
def test_vm_power_host_and_disks(sim, inv, spec):
    vm = inv['vm'][spec['name']]
    assert vm['runtime.powerState'] == spec.get('power_state', 'poweredOff')
    assert vm['runtime.host'].value == inv['host'][spec['host']]['_ref'].value
    disks = disk_devices(vm)
    assert len(disks) == len(spec.get('disks', []))
    for i, (dev, d) in enumerate(zip(disks, spec.get('disks', []))):
        path = d.get('path') or (
            '%s/%s.vmdk' % (spec['name'], spec['name']) if i == 0
            else '%s/%s_%d.vmdk' % (spec['name'], spec['name'], i))
        ds_path = '[%s] %s' % (d['datastore'], path)
        capacity = round(d.get('capacity_gb', 1) * MiB) * 1024
        backing = dev.backing
        while getattr(backing, 'parent', None) is not None:
            backing = backing.parent  # snapshots: the VM runs on deltas
        assert (backing is not dev.backing) == bool(spec.get('snapshots'))
        assert backing.fileName == ds_path
        ds_ref = inv['ds'][d['datastore']]['_ref']
        assert backing.datastore.value == ds_ref.value
        assert backing.thinProvisioned is d.get('thin', False)
        assert dev.capacityInKB == capacity // 1024
        assert dev.capacityInBytes == capacity
        assert dev.unitNumber == i and dev.controllerKey == 1000
        desc_path = sim.datastore_path(d['datastore'], path)
        text = descriptor(desc_path)
        assert ('ddb.thinProvisioned = "1"' in text) is d.get('thin', False)
        uuid = text.split('ddb.uuid = "')[1].split('"')[0]
        want_uuid = uuid.replace(' ', '').replace('-', '').lower()
        assert dev.backing.uuid.replace('-', '').lower() == want_uuid
        flat = desc_path[:-len('.vmdk')] + '-flat.vmdk'
        assert os.path.getsize(flat) == capacity
        check_pattern(flat, ds_path, capacity)


def check_pattern(flat, ds_path, capacity):
    end = min(capacity, MiB)
    assert read_at(flat, 0, 512)[:end] == pattern_sector(ds_path, 0)[:end]
    last = (end - 1) // 512 * 512
    assert (read_at(flat, last, 512)[:end - last]
            == pattern_sector(ds_path, last)[:end - last])
    if capacity > 2 * MiB:
        assert read_at(flat, MiB, 4096) == b'\0' * 4096
        # Sparse beyond the pattern: far fewer blocks than the capacity.
        assert os.stat(flat).st_blocks * 512 < 8 * MiB


def test_vm_files_and_snapshots(sim, inv):
    vm = inv['vm']['snappy']
    tree = vm['snapshot'].rootSnapshotList[0]
    assert tree.name == 'first' and tree.description == 'one'
    assert tree.childSnapshotList[0].name == 'second'
    assert (vm['snapshot'].currentSnapshot.value
            == tree.childSnapshotList[0].snapshot.value)
    vmx = 'config.files.vmPathName'
    assert inv['vm']['sleepy'][vmx] == '[vvol-01] sleepy/sleepy.vmx'
    assert inv['vm']['legacy-db'][vmx] == '[nfs-01] legacy-db/legacy-db.vmx'
    assert os.path.isfile(sim.datastore_path('nfs-01',
                                             'legacy-db/legacy-db.vmx'))
    assert inv['vm']['diskless'][vmx] == '[vvol-01] diskless/diskless.vmx'


@pytest.mark.parametrize('spec', TOPOLOGY['datacenters'][0]['files'],
                         ids=lambda s: s['path'])
def test_loose_files(sim, spec):
    ds_path = '[%s] %s' % (spec['datastore'], spec['path'])
    capacity = round(spec.get('capacity_gb', 1) * MiB) * 1024
    desc_path = sim.datastore_path(spec['datastore'], spec['path'])
    text = descriptor(desc_path)
    assert text.startswith('# Disk DescriptorFile')
    assert ('ddb.thinProvisioned = "1"' in text) is spec.get('thin', False)
    base = os.path.basename(spec['path'])[:-len('.vmdk')]
    assert '"%s-flat.vmdk"' % base in text
    flat = desc_path[:-len('.vmdk')] + '-flat.vmdk'
    assert os.path.getsize(flat) == capacity
    check_pattern(flat, ds_path, capacity)


def test_sample_topology_loads(start_simulator):
    with open(os.path.join(TOPOLOGIES, 'sample.json')) as f:
        topology = json.load(f)
    sim = start_simulator(topology)
    session = sim.session()
    ds = objects(session, 'Datastore', ['name', 'summary', 'host'])
    assert sorted(ds) == sorted(
        d['name'] for d in topology['datacenters'][0]['datastores'])
    shared = ds['nfs-shared-01']
    assert len(refs(shared['host'], 'DatastoreHostMount')) == 5
    vms = objects(session, 'VirtualMachine',
                  ['name', 'runtime.powerState', 'snapshot'])
    assert vms['app-server']['runtime.powerState'] == 'poweredOn'
    snapshots = vms['legacy-db']['snapshot'].rootSnapshotList
    assert snapshots[0].name == 'before-upgrade'


def test_generated_topology_loads(start_simulator):
    out = subprocess.run(
        [sys.executable, os.path.join(TOPOLOGIES, 'generate.py'),
         '--datacenters', '2', '--clusters', '2', '--hosts', '3',
         '--datastores', '5', '--vms', '2', '--seed', '7'],
        check=True, capture_output=True, text=True)
    topology = json.loads(out.stdout)
    sim = start_simulator(topology)
    session = sim.session()
    ds = objects(session, 'Datastore', ['name', 'host'])
    assert len(ds) == 10
    hosts = objects(session, 'HostSystem', ['name'])
    assert len(hosts) == 2 * 3
    vms = objects(session, 'VirtualMachine', ['name'])
    assert len(vms) == 4


BAD = [
    ({'name': 'D', 'clusters': [{'name': 'c', 'hosts': [{'name': 'h1'}]}],
      'datastores': [{'name': 'ds', 'mounts': [{'host': 'h9'}]}]},
     'datastore "ds" mounts[0]: unknown host "h9"'),
    ({'name': 'D', 'datastores': [{'name': 'ds', 'type': 'ZFS'}]},
     'datastore "ds": bad type "ZFS"'),
    ({'name': 'D',
      'datastores': [{'name': 'ds', 'capacity_gb': 10, 'free_gb': 11}]},
     'datastore "ds": free_gb 11 exceeds capacity_gb 10'),
    ({'name': 'D', 'datastores': [{'name': 'ds', 'uncommitted_gb': -1}]},
     'datastore "ds": uncommitted_gb must not be negative'),
    ({'name': 'D', 'datastores': [{'name': 'ds', 'maintenance_mode': 'x'}]},
     'datastore "ds": bad maintenance_mode "x"'),
    ({'name': 'D', 'datastores': [{'name': 'a'}, {'name': 'a'}]},
     'duplicate datastore name "a"'),
    ({'name': 'D',
      'standalone_hosts': [{'name': 'h', 'connection_state': 'off'}]},
     'host "h": bad connection_state "off"'),
    ({'name': 'D', 'standalone_hosts': [{'name': 'h'}, {'name': 'h'}]},
     'duplicate host name "h"'),
    ({'name': 'D', 'standalone_hosts': [{'name': 'h'}],
      'vms': [{'name': 'v', 'host': 'h', 'power_state': 'on'}]},
     'VM "v": bad power_state "on"'),
    ({'name': 'D', 'vms': [{'name': 'v', 'host': 'nowhere'}]},
     'VM "v": unknown host "nowhere"'),
    ({'name': 'D', 'standalone_hosts': [{'name': 'h'}],
      'datastores': [{'name': 'a', 'mounts': [{'host': 'h'}]}],
      'vms': [{'name': 'v', 'host': 'h', 'disks': [{'datastore': 'b'}]}]},
     'VM "v" disks[0]: unknown datastore "b"'),
    ({'name': 'D', 'standalone_hosts': [{'name': 'h'}, {'name': 'g'}],
      'datastores': [{'name': 'a', 'mounts': [{'host': 'g'}]}],
      'vms': [{'name': 'v', 'host': 'h', 'disks': [{'datastore': 'a'}]}]},
     'datastore "a" is not mounted on host "h"'),
    ({'name': 'D', 'datastores': [{'name': 'a'}],
      'files': [{'datastore': 'a', 'path': 'x.vmdk', 'capacity_gb': -2}]},
     'files[0]: capacity_gb must be positive'),
    ({'name': 'D', 'datastores': [{'name': 'a'}],
      'files': [{'datastore': 'a', 'path': 'x.vmdk'},
                {'datastore': 'a', 'path': 'x.vmdk'}]},
     'files[1]: [a] x.vmdk is already used by files[0]'),
    ({'name': 'D', 'datastores': [{'name': 'a'}],
      'files': [{'datastore': 'a', 'path': '../x.vmdk'}]},
     'files[0]: bad path "../x.vmdk"'),
    ({'name': 'D', 'datastorez': []}, 'unknown field "datastorez"'),
]


@pytest.fixture(scope='module')
def vcsim_binary():
    """The built simulator (vcsim-up builds it the same way)."""
    env = dict(os.environ)
    env.setdefault('VCSIM_PYTHON', sys.executable)
    build = os.path.join(os.path.dirname(vcsim.VCSIM_UP), 'build.sh')
    out = subprocess.run([build], check=True, capture_output=True, text=True,
                         env=env)
    return os.path.join(out.stdout.strip().splitlines()[-1], 'vcsim')


@pytest.mark.parametrize('dc,message', BAD, ids=[m for _, m in BAD])
def test_invalid_topology_is_refused(tmp_path, vcsim_binary, dc, message):
    path = tmp_path / 'topology.json'
    path.write_text(json.dumps({'datacenters': [dc]}))
    out = subprocess.run([vcsim_binary, '-topology', str(path),
                          '-datastore-root', str(tmp_path / 'ds')],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert message in out.stderr


def test_vcsim_up_reports_an_invalid_topology(tmp_path):
    dc, message = BAD[0]
    with pytest.raises(RuntimeError) as err:
        vcsim.Simulator.start({'datacenters': [dc]}, workdir=str(tmp_path))
    assert message in str(err.value)
