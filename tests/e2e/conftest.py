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
"""One simulator and one Cinder control plane for the whole e2e session.

The stack (tools/stack/cinder_stack.py) runs cinder-api, cinder-scheduler
and cinder-volume from the installed cinder package, with this checkout's
driver, against the simulator loaded with the sample topology.  Both are
stopped by PID at the end of the session, failed tests included; the
stack's logs and cinder.conf stay in its directory, which is printed when
a test fails.
"""

import json
import os

import pytest

from tests.e2e import consumer
from tests.e2e import waiting
from tests import simulator as vcsim
from tools.stack import cinder_stack

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


TOPOLOGY = os.path.join(REPO, 'tools', 'vcsim', 'topologies', 'sample.json')
# Lazy create, the default (upstream's and ours): a volume's backing is
# made at its first use.  new_volume makes it at once through an attachment
# (first_use), so that every step can be checked on vCenter's side.
BACKEND_OPTIONS = {}


@pytest.fixture(scope='session')
def topology():
    with open(TOPOLOGY) as f:
        return json.load(f)


@pytest.fixture(scope='session')
def clusters(topology):
    return [c['name'] for dc in topology['datacenters']
            for c in dc.get('clusters', [])]


@pytest.fixture(scope='session')
def simulator(topology, tmp_path_factory):
    sim = vcsim.Simulator.start(
        topology, workdir=str(tmp_path_factory.mktemp('vcsim')))
    yield sim
    sim.stop()


@pytest.fixture(scope='session')
def stack(simulator, clusters, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('cinder-stack')
    stack = cinder_stack.CinderStack(
        str(workdir), simulator.info, clusters,
        backend_options=BACKEND_OPTIONS)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope='session')
def cinder(stack):
    """python-cinderclient, as the admin of a noauth project."""
    return stack.client()


@pytest.fixture(scope='session')
def vsphere(simulator):
    """An oslo.vmware session to check vCenter's side of each step."""
    session = simulator.session()
    yield session
    session.logout()


@pytest.fixture(scope='session')
def volume_type(cinder, clusters):
    """Give a factory of thin volume types pinned to a pool.

    volume_type(pool) -> a thin type pinned to that pool (the operator's
    way to choose a cluster), created once per pool.
    """
    made = {}

    def get(pool):
        if pool not in made:
            vtype = cinder.volume_types.create('e2e-%s' % pool)
            vtype.set_keys({'volume_backend_name': 'vmware',
                            'pool_name': pool,
                            'vmware:vmdk_type': 'thin'})
            made[pool] = vtype
        return made[pool]

    yield get
    for vtype in made.values():
        cinder.volume_types.delete(vtype)


@pytest.fixture
def undo():
    """Give a registry of clean-up steps run when the test ends.

    undo(step): run ``step`` when the test ends, newest first, so that
    a volume made from a snapshot goes before the snapshot, and that
    before its volume.
    """
    steps = []
    yield steps.append
    for step in reversed(steps):
        step()


def _delete(manager, resource, **kwargs):
    manager.delete(resource, **kwargs)
    waiting.wait_deleted(manager, resource)


@pytest.fixture
def new_volume(cinder, undo):
    """Give a factory of volumes deleted when the test ends.

    new_volume(size, type, wait=..., backing=True) -> the volume once
    it reached its status, with its backing made (first_use) when it is
    available unless backing=False; deleted when the test ends.
    """
    def create(size, vtype, wait='available', backing=True, **kwargs):
        volume = cinder.volumes.create(size, volume_type=vtype.id, **kwargs)
        undo(lambda: _delete(cinder.volumes, volume, cascade=True))
        volume = waiting.wait_status(cinder.volumes, volume, wait)
        if backing and volume.status == 'available':
            volume = consumer.first_use(cinder, volume)
        return volume

    return create


@pytest.fixture
def new_snapshot(cinder, undo):
    """Give a factory of snapshots deleted when the test ends.

    new_snapshot(volume) -> the snapshot once available; deleted when
    the test ends.
    """
    def create(volume):
        snapshot = cinder.volume_snapshots.create(volume.id)
        undo(lambda: _delete(cinder.volume_snapshots, snapshot))
        return waiting.wait_status(cinder.volume_snapshots, snapshot,
                                   'available')

    return create


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    stack = item.funcargs.get('stack') if hasattr(item, 'funcargs') else None
    if report.failed and stack is not None:
        report.sections.append(
            ('cinder stack', 'logs and cinder.conf: %s' % stack.workdir))
