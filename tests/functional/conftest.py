import pytest

from tests import simulator as vcsim
from tests.functional import driver_fixtures as df


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
