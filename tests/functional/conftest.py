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
import pytest

from tests.functional import driver_fixtures as df
from tests import simulator as vcsim


@pytest.fixture
def start_simulator(tmp_path):
    """Factory: start_simulator(topology_dict) -> running Simulator.

    Every simulator started is stopped by PID when the test ends.
    """
    started = []

    def start(topology):
        sim = vcsim.Simulator.start(topology, workdir=str(tmp_path))
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


# --- module-scoped fixtures for driver tests ---------------------------------
#
# An oslo.vmware session parses the simulator's WSDL (several seconds), so a
# test module shares one simulator started from its module-level TOPOLOGY,
# one Cinder database and one independent inventory session.

@pytest.fixture(scope='module')
def cinder_db(tmp_path_factory):
    return df.init_cinder(str(tmp_path_factory.mktemp('cinder')))


@pytest.fixture(scope='module')
def sim(request, tmp_path_factory):
    simulator = vcsim.Simulator.start(
        request.module.TOPOLOGY,
        workdir=str(tmp_path_factory.mktemp('vcsim')))
    yield simulator
    simulator.stop()


@pytest.fixture(scope='module')
def inv(sim):
    inventory = df.Inventory(sim)
    yield inventory
    inventory.close()


@pytest.fixture
def ctx(cinder_db):
    return df.admin_context()
