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
"""``cinder-vmware datastore drain`` and ``evacuate`` through real Cinder
in datastore pool mode (one stack for the module, its own: each datastore
is a pool, so a move changes the volume's ``host``, which only Cinder's
migrate API may do).

Drain shows in ``cinder get-pools --detail`` at the next stats refresh;
evacuate moves every volume to another datastore pool, Cinder's ``host``
names it, the backing VM is the same one, and the bytes read back equal.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.e2e import consumer
from tests.e2e import vcenter
from tests.e2e import waiting
from tests.functional import driver_fixtures as df
from tests import simulator as vcsim
from tools.stack import cinder_stack

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


BACKEND = 'cinder-stack@vmware'
OFFSET = 2 * 1024 * 1024
TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'}]}],
    'datastores': [
        # The roomiest: Cinder's capacity weigher puts the volumes here.
        {'name': 'old-ds', 'type': 'VMFS', 'capacity_gb': 200,
         'free_gb': 180, 'mounts': [{'host': 'esx-01'}]},
        {'name': 'new-a', 'type': 'VMFS', 'capacity_gb': 100,
         'free_gb': 60, 'mounts': [{'host': 'esx-01'}]},
        {'name': 'new-b', 'type': 'VMFS', 'capacity_gb': 100,
         'free_gb': 50, 'mounts': [{'host': 'esx-01'}]}],
}]}
# Stats every few seconds, so that the drain shows soon.
VOLUME_DEFAULTS = {'periodic_interval': '3', 'periodic_fuzzy_delay': '0',
                   'backend_stats_polling_interval': '3'}


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    simulator = vcsim.Simulator.start(
        TOPOLOGY, workdir=str(tmp_path_factory.mktemp('vcsim-evacuate')))
    yield simulator
    simulator.stop()


@pytest.fixture(scope='module')
def stack(sim, tmp_path_factory):
    stack = cinder_stack.CinderStack(
        str(tmp_path_factory.mktemp('cinder-evacuate')), sim.info, ['gold'],
        backend_options={'vmware_lazy_create': 'true',
                         'vmware_pool_mode': 'datastore'},
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


def tool(stack, *args):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('OS_', 'CINDER_'))}
    env.update(stack.cli_environment())
    env['PYTHONPATH'] = REPO
    env.setdefault('PYTHONWARNINGS', 'ignore')
    done = subprocess.run(
        [sys.executable, '-m', 'cinder_vmware_ext.cmd.main',
         '--config-file', stack.conf_file, '--backend', 'vmware'] +
        list(args), capture_output=True, text=True, cwd=REPO, env=env,
        timeout=900)
    return done.returncode, done.stdout, done.stderr


def pools(cinder):
    found = {}
    for pool in cinder.pools.list(detailed=True):
        if pool.name.startswith(BACKEND + '#'):
            info = pool.to_dict()
            found[pool.name.split('#')[1]] = info.get('capabilities', info)
    return found


def wait_pools(cinder, check, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        found = pools(cinder)
        if check(found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(1)


def host_of(volume):
    return getattr(volume, 'os-vol-host-attr:host')


def test_drain_then_evacuate_in_datastore_pool_mode(cinder, vsphere, sim,
                                                    stack, tmp_path):
    before = wait_pools(cinder, lambda p: {'old-ds', 'new-a',
                                           'new-b'} <= set(p))
    vtype = cinder.volume_types.create('evacuate-thin')
    vtype.set_keys({'volume_backend_name': 'vmware',
                    'vmware:vmdk_type': 'thin'})
    volumes, data = [], {}
    for seed in (1, 2):
        volume = cinder.volumes.create(1, volume_type=vtype.id)
        volume = waiting.wait_status(cinder.volumes, volume, 'available')
        volume = consumer.first_use(cinder, volume)
        assert host_of(volume) == BACKEND + '#old-ds', host_of(volume)
        backing = vcenter.backing(vsphere, volume)
        assert backing['datastores'] == ['old-ds']
        [path] = backing['disk_files']
        local = sim.datastore_path(*path[1:].split('] ', 1))
        data[volume.id] = df.pattern(seed)
        df.write_data(local, OFFSET, data[volume.id])
        volumes.append(volume)

    code, out, err = tool(stack, 'datastore', 'drain', 'old-ds')
    assert code == 0, err
    # The drained datastore's capacity leaves Cinder's pools at the next
    # stats refresh.
    total = sum(float(c['total_capacity_gb']) for c in before.values())
    after = wait_pools(cinder, lambda p: 'old-ds' not in p or float(
        p['old-ds']['free_capacity_gb']) == 0)
    assert sum(float(c['total_capacity_gb']) for c in after.values()) <= \
        total - (200 if 'old-ds' not in after else 0)
    if 'old-ds' in after:
        assert float(after['old-ds']['free_capacity_gb']) == 0
    else:
        # As the operator sees it.
        detail = stack.cli('get-pools', '--detail')
        assert '#new-a' in detail and '#old-ds' not in detail, detail

    results = tmp_path / 'evacuate.jsonl'
    code, out, err = tool(stack, 'datastore', 'evacuate', 'old-ds',
                          '--results', str(results))
    assert code == 0, (out, err)
    assert out.startswith('moved: 2, skipped: 0, failed: 0'), out
    entries = {e['key']: e for e in map(json.loads,
                                        results.read_text().splitlines())}
    for volume in volumes:
        now = cinder.volumes.get(volume.id)
        target = entries[volume.id]['to']
        assert target in ('new-a', 'new-b')
        # Cinder's record follows the move.
        assert host_of(now) == '%s#%s' % (BACKEND, target)
        assert now.status == 'available'
        backing = vcenter.backing(vsphere, now)
        assert backing['datastores'] == [target]
        [path] = backing['disk_files']
        assert path.startswith('[%s] ' % target)
        local = sim.datastore_path(*path[1:].split('] ', 1))
        assert df.read_data(local, sim.datastore_root, OFFSET,
                            len(data[volume.id])) == data[volume.id]
    assert not any(p.endswith('.vmdk') for _d, _s, files in os.walk(
        sim.datastore_path('old-ds', '')) for p in files)

    for volume in volumes:
        cinder.volumes.delete(volume)
        waiting.wait_deleted(cinder.volumes, volume)
    cinder.volume_types.delete(vtype)
