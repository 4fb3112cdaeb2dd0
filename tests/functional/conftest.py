import pytest

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
