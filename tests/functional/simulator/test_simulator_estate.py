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
"""An estate from generate.py with a short test pattern (-pattern-bytes)
and vcsim-up's start-up options. The 10,000-disk estate itself is measured
by tools/ (never in CI)."""

import json
import os
import subprocess
import sys

import pytest

from tests.functional.simulator import test_simulator_topology as topo
from tests import simulator as vcsim

GENERATE = os.path.join(vcsim.REPO, 'tools', 'vcsim', 'topologies',
                        'generate.py')
PATTERN = 4096


@pytest.fixture(scope='module')
def estate(tmp_path_factory):
    work = tmp_path_factory.mktemp('estate')
    text = subprocess.check_output(
        [sys.executable, GENERATE, '--clusters', '1', '--hosts', '2',
         '--datastores', '3', '--vms', '4', '--files', '12'])
    sim = vcsim.Simulator.start(json.loads(text), workdir=str(work),
                                env={'VCSIM_PATTERN_BYTES': str(PATTERN)})
    yield sim, json.loads(text)
    sim.stop()


def test_loose_disks_carry_a_short_pattern_then_holes(estate):
    sim, topology = estate
    files = [f for dc in topology['datacenters'] for f in dc['files']]
    assert len(files) == 12
    for f in files:
        ds_path = '[%s] %s' % (f['datastore'], f['path'])
        flat = sim.datastore_path(f['datastore'],
                                  f['path'][:-len('.vmdk')] + '-flat.vmdk')
        capacity = round(f.get('capacity_gb', 1) * topo.MiB) * 1024
        assert os.path.getsize(flat) == capacity
        end = min(capacity, PATTERN)
        last = (end - 1) // 512 * 512
        assert topo.read_at(flat, 0, 512)[:end] == \
            topo.pattern_sector(ds_path, 0)[:end]
        assert topo.read_at(flat, last, 512)[:end - last] == \
            topo.pattern_sector(ds_path, last)[:end - last]
        if capacity > 2 * PATTERN:
            assert topo.read_at(flat, PATTERN, 4096) == b'\0' * 4096
            assert os.stat(flat).st_blocks * 512 <= 64 * 1024


@pytest.mark.parametrize('argv,words', [
    (['--wait', '0'], 'start-up wait must be a positive number'),
    (['--wait', 'soon'], 'start-up wait must be a positive number'),
    (['--wait'], 'usage: vcsim-up'),
])
def test_vcsim_up_refuses_a_bad_wait(tmp_path, argv, words):
    topology = os.path.join(vcsim.REPO, 'tools', 'vcsim', 'topologies',
                            'sample.json')
    env = dict(os.environ, TMPDIR=str(tmp_path))
    if argv == ['--wait']:
        topology = None     # "vcsim-up --wait": no value, no topology
    done = subprocess.run([vcsim.VCSIM_UP] + argv +
                          ([topology] if topology else []), env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert words in done.stderr and len(done.stderr.splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_vcsim_up_bad_pattern_bytes_leaves_nothing(tmp_path):
    topology = os.path.join(vcsim.REPO, 'tools', 'vcsim', 'topologies',
                            'sample.json')
    env = dict(os.environ, TMPDIR=str(tmp_path), VCSIM_PATTERN_BYTES='1000',
               VCSIM_PYTHON=sys.executable)
    done = subprocess.run([vcsim.VCSIM_UP, topology], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert 'pattern-bytes must be a positive multiple of 512' in done.stderr
    assert os.listdir(tmp_path) == []
