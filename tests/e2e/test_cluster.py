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
"""Active-active: two cinder-volume services in one Cinder cluster.

One stack for the module, its own: the simulator with a small topology,
RabbitMQ, etcd (``[coordination]``), MariaDB (Cinder's database: SQLite
takes one writer at a time), cinder-api, cinder-scheduler and two
cinder-volume services with their own ``host`` and the same ``cluster``,
lazy create on (the default).  vCenter's side is read through an
independent oslo.vmware session and the simulator's datastore files.
"""

import concurrent.futures
import math
import os

from oslo_vmware import vim_util
import pytest

from tests.e2e import consumer
from tests.e2e import vcenter
from tests.e2e import waiting
from tests.functional import driver_fixtures as df
from tests import simulator as vcsim
from tools.stack import cinder_stack

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


GIB = 1024 ** 3
# 'tight' has room for exactly TIGHT_FREE_GB // SIZE thick volumes.
TIGHT_FREE_GB = 10.5
SIZE = 1
CREATES = 50
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [
        {'name': 'tight', 'hosts': [{'name': 'esx-tight-01'}]},
        {'name': 'roomy', 'hosts': [{'name': 'esx-roomy-01'}]},
    ],
    'datastores': [
        {'name': 'tight-ds', 'type': 'VMFS', 'capacity_gb': 20,
         'free_gb': TIGHT_FREE_GB, 'uncommitted_gb': 0,
         'mounts': [{'host': 'esx-tight-01'}]},
        {'name': 'roomy-ds', 'type': 'VMFS', 'capacity_gb': 200,
         'free_gb': 150, 'uncommitted_gb': 0,
         'mounts': [{'host': 'esx-roomy-01'}]},
    ],
    # A disk to take over, in the pool with less room.
    'files': [{'datastore': 'tight-ds', 'path': 'legacy/old.vmdk',
               'capacity_gb': 0.01, 'thin': True}],
}]}
# Heartbeats often enough that a killed service is down within seconds
# (Cinder's cleanup of a service's work goes to a live peer).
CONF_OVERRIDES = {'DEFAULT': {'report_interval': '2',
                              'service_down_time': '20'}}
# Stats every few seconds (Cinder's default is a minute): the scheduler
# sees the promises soon after the creates.
VOLUME_DEFAULTS = {'periodic_interval': '3', 'periodic_fuzzy_delay': '0',
                   'backend_stats_polling_interval': '3'}
OFFSET = 3 * 1024 * 1024


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    simulator = vcsim.Simulator.start(
        TOPOLOGY, workdir=str(tmp_path_factory.mktemp('vcsim-cluster')))
    yield simulator
    simulator.stop()


@pytest.fixture(scope='module')
def stack(sim, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('cinder-cluster')
    stack = cinder_stack.CinderStack(
        str(workdir), sim.info, ['tight', 'roomy'],
        backend_options={'vmware_lazy_create': 'true'},
        volume_services=2, conf_overrides=CONF_OVERRIDES,
        volume_defaults=VOLUME_DEFAULTS)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope='module')
def cinder(stack):
    return stack.client()


@pytest.fixture(scope='module')
def vsphere(sim):
    session = sim.session()
    yield session
    session.logout()


def _type(cinder, name, specs):
    vtype = cinder.volume_types.create(name)
    vtype.set_keys(dict(specs, volume_backend_name='vmware'))
    return vtype


def _datastores(vsphere):
    return {p['name']: p for p in vcenter.objects(
        vsphere, 'Datastore', ['name', 'summary.freeSpace',
                               'summary.capacity']).values()}


def _free_gb(vsphere, name):
    return _datastores(vsphere)[name]['summary.freeSpace'] / GIB


def _snapshot_names(vsphere, vm):
    info = vsphere.invoke_api(vim_util, 'get_object_property', vsphere.vim,
                              vm, 'snapshot')
    names, todo = [], list(getattr(info, 'rootSnapshotList', None) or [])
    while todo:
        node = todo.pop(0)
        names.append(node.name)
        todo.extend(getattr(node, 'childSnapshotList', None) or [])
    return names


def _vm(vsphere, name):
    return df.Inventory(session=vsphere).vm(name)


def _poll(what, check, timeout=120, interval=0.5):
    return waiting.until(what, check, timeout, interval)


def _pool(cinder, name):
    return [p for p in cinder.pools.list(detailed=True)
            if p.name.endswith('#' + name)][0]


def test_two_services_in_one_cluster(stack, cinder):
    def both_up():
        services = {s.host: s for s in cinder.services.list(
            binary='cinder-volume')}
        return services if {s.state for s in services.values()} == {
            'up'} else None
    # A service is up once its first heartbeat after start-up landed.
    services = _poll('both volume services up', both_up, timeout=60)
    assert sorted(services) == ['cinder-stack-1@vmware',
                                'cinder-stack-2@vmware']
    assert {s.cluster for s in services.values()} == {
        'cinder-cluster@vmware'}
    clusters = stack.cli('--os-volume-api-version', '3.7', 'cluster-list',
                         '--detailed')
    assert 'cinder-cluster@vmware' in clusters
    # The scheduler sees one backend, the cluster's, not one per service.
    assert {p.name.split('#')[0] for p in cinder.pools.list()} == {
        'cinder-cluster@vmware'}


def test_manage_keeps_the_disk_in_the_pool_named(stack, cinder, vsphere,
                                                 sim):
    # Cinder's API keeps only the cluster of a clustered service's host,
    # and the scheduler would pick roomy (more free space): the driver
    # keeps the disk in tight, where it is, and the volume says so.
    path = '[tight-ds] legacy/old.vmdk'
    local = sim.datastore_path('tight-ds', 'legacy/old.vmdk')
    df.write_data(local, OFFSET, df.pattern(11))
    volume = cinder.volumes.manage('cinder-stack-1@vmware#tight',
                                   {'source-name': path}, name='legacy')
    volume = waiting.wait_status(cinder.volumes, volume, 'available')
    assert getattr(volume, 'os-vol-host-attr:host').endswith('#tight')
    assert vcenter.backing(vsphere, volume)['disk_files'] == [path]
    assert df.read_data(local, sim.datastore_root, OFFSET,
                        len(df.pattern(11))) == df.pattern(11)
    cinder.volumes.unmanage(volume)
    waiting.wait_deleted(cinder.volumes, volume)


def _create_one(stack, vtype, index):
    client = stack.client()
    return client.volumes.create(SIZE, volume_type=vtype.id,
                                 name='burst-%02d' % index).id


def _settled(cinder, ids):
    volumes = [cinder.volumes.get(i) for i in ids]
    if any(v.status in ('creating', 'downloading') for v in volumes):
        return None
    return volumes


def test_concurrent_creates_fill_the_pool_exactly(stack, cinder, vsphere):
    vtype = _type(cinder, 'cluster-thick-tight', {
        'pool_name': 'tight', 'vmware:vmdk_type': 'thick'})
    room = int(math.floor(_free_gb(vsphere, 'tight-ds') / SIZE))
    assert 0 < room < CREATES

    with concurrent.futures.ThreadPoolExecutor(CREATES) as workers:
        ids = list(workers.map(lambda i: _create_one(stack, vtype, i),
                               range(CREATES)))
    volumes = _poll('50 creates settled', lambda: _settled(cinder, ids),
                    timeout=180)
    by_status = {}
    for volume in volumes:
        by_status.setdefault(volume.status, []).append(volume)
    assert sorted(by_status) == ['available', 'error'], by_status.keys()
    assert len(by_status['available']) == room
    assert len(by_status['error']) == CREATES - room
    # Each refused one says why (the scheduler's user message).
    messages = {m.resource_uuid: m.user_message
                for m in cinder.messages.list()}
    for volume in by_status['error']:
        assert volume.id in messages, volume.id
    # Both services of the cluster took creates.
    hosts = {getattr(v, 'os-vol-host-attr:host').split('@')[0]
             for v in by_status['available']}
    assert hosts <= {'cinder-stack-1', 'cinder-stack-2'}

    # Lazy create: nothing on vCenter yet, the promise in the pool's stats
    # (each service reports it from the shared ledger at its next refresh).
    assert _free_gb(vsphere, 'tight-ds') == pytest.approx(TIGHT_FREE_GB)

    def promised():
        pool = _pool(cinder, 'tight')
        value = getattr(pool, 'promised_capacity_gb', None)
        return pool if value and value >= room * SIZE else None
    pool = _poll('promised_capacity_gb at the scheduler', promised,
                 timeout=60)
    assert pool.promised_capacity_gb == pytest.approx(room * SIZE)
    assert pool.free_capacity_gb < SIZE
    detail = stack.cli('get-pools', '--detail')
    assert [line for line in detail.splitlines()
            if 'promised_capacity_gb' in line]

    # First use makes every backing on the promised datastore; nothing
    # over-commits it.
    with concurrent.futures.ThreadPoolExecutor(8) as workers:
        list(workers.map(lambda v: consumer.first_use(stack.client(), v),
                         by_status['available']))
    for volume in by_status['available']:
        assert vcenter.backing(vsphere, volume)['datastores'] == ['tight-ds']
    free = _free_gb(vsphere, 'tight-ds')
    assert free >= 0
    assert free == pytest.approx(TIGHT_FREE_GB - room * SIZE, abs=0.1)

    for volume in volumes:
        cinder.volumes.delete(volume)
    for volume in volumes:
        waiting.wait_deleted(cinder.volumes, volume, timeout=180)
    assert _free_gb(vsphere, 'tight-ds') == pytest.approx(TIGHT_FREE_GB)
    cinder.volume_types.delete(vtype)


def test_kill_a_service_in_the_middle_of_a_linked_clone(stack, cinder,
                                                        vsphere, sim):
    vtype = _type(cinder, 'cluster-linked-roomy', {
        'pool_name': 'roomy', 'vmware:vmdk_type': 'thin',
        'vmware:clone_type': 'linked'})
    source = waiting.wait_status(cinder.volumes, cinder.volumes.create(
        1, volume_type=vtype.id, name='clone-source'), 'available')
    source = consumer.first_use(cinder, source)
    source_vm = _vm(vsphere, 'volume-%s' % source.id)
    disk = sim.datastore_path(
        'roomy-ds', vcenter.backing(vsphere, source)['disk_files'][0]
        .split('] ', 1)[1])
    data = df.pattern('cluster-source')
    df.write_data(disk, OFFSET, data)
    vms_before = vcenter.vm_names(vsphere)

    # The clone call waits in vCenter long enough to kill its caller.
    rule = sim.add_latency(6000, method='CloneVM_Task', count=1)
    clone = cinder.volumes.create(1, volume_type=vtype.id, name='clone',
                                  source_volid=source.id)

    def clone_in_flight():
        return any(r['id'] == rule['id'] and r.get('fired')
                   for r in sim.admin('latency')['latency'])
    _poll('the clone call at vCenter', clone_in_flight, timeout=60,
          interval=0.1)
    host = getattr(cinder.volumes.get(clone.id), 'os-vol-host-attr:host')
    victim = 'cinder-volume-%s' % host.split('@')[0].rsplit('-', 1)[1]
    survivor = ({'cinder-volume-1', 'cinder-volume-2'} - {victim}).pop()
    assert 'temp-snapshot-%s' % clone.id in _snapshot_names(vsphere,
                                                            source_vm)
    stack.kill(victim)
    # vCenter finishes the task its dead caller started.
    _poll('the clone on vCenter',
          lambda: 'volume-%s' % clone.id in vcenter.vm_names(vsphere),
          timeout=30)
    assert cinder.volumes.get(clone.id).status == 'creating'

    dead_host = stack.volume_backend(victim)
    _poll('%s down' % dead_host, lambda: [
        s for s in cinder.services.list(binary='cinder-volume')
        if s.host == dead_host and s.state == 'down'], timeout=60)
    stack.cli('--os-volume-api-version', '3.24', 'work-cleanup',
              '--host', dead_host)
    # Cinder's part: the volume the dead service was making is error.
    waiting.wait_status(cinder.volumes, clone, 'error', timeout=60)

    # New creates keep working, on the survivor; the driver rolls the
    # half-made clone back (its next create or stats refresh).
    fresh = waiting.wait_status(cinder.volumes, cinder.volumes.create(
        1, volume_type=vtype.id, name='after-the-kill'), 'available')
    fresh = consumer.first_use(cinder, fresh)
    assert getattr(fresh, 'os-vol-host-attr:host').startswith(
        stack.volume_hosts[survivor] + '@')
    assert vcenter.backing(vsphere, fresh)['datastores'] == ['roomy-ds']

    def rolled_back():
        return ('volume-%s' % clone.id not in vcenter.vm_names(vsphere) and
                'temp-snapshot-%s' % clone.id not in _snapshot_names(
                    vsphere, source_vm))
    _poll('the half-made clone rolled back', rolled_back, timeout=90)
    # No orphan backing, the source's bytes intact on its (new) top disk.
    assert vcenter.vm_names(vsphere) == vms_before | {
        'volume-%s' % fresh.id}
    top = sim.datastore_path('roomy-ds', vcenter.backing(
        vsphere, source)['disk_files'][0].split('] ', 1)[1])
    assert df.read_data(top, sim.datastore_root, OFFSET, len(data)) == data
    with open(os.path.join(stack.log_dir, survivor + '.log')) as f:
        log = f.read()
    assert 'went to error in the middle of a linked clone' in log

    for volume in (clone, fresh, source):
        cinder.volumes.delete(volume)
        waiting.wait_deleted(cinder.volumes, volume)
    assert vcenter.vm_names(vsphere) == vms_before - {
        'volume-%s' % source.id}
    cinder.volume_types.delete(vtype)
