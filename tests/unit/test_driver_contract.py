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
"""Pure pieces of upstream's contract: the pool scope of an entry point
(driver._in_pool_of) and the bounded disk chain walk (disks.chain)."""

import contextlib
import types

import pytest
from cinder import exception

from cinder_vmware_ext import driver
from cinder_vmware_ext.vsphere import disks


class Recorder(object):
    """Records the host each decorated entry point is scoped to."""

    def __init__(self):
        self.hosts = []

    @contextlib.contextmanager
    def _pool_context(self, host, volume=None):
        self.hosts.append(host)
        yield

    @driver._in_pool_of('volume')
    def create_volume(self, volume):
        return 'done'

    @driver._in_pool_of('snapshot')
    def create_snapshot(self, snapshot):
        return 'done'

    @driver._in_pool_of('volume', host_arg='host')
    def retype(self, ctxt, volume, new_type, diff, host):
        return 'done'


@pytest.mark.parametrize('volume, expected', [
    ({'host': 'h@b#gold'}, 'h@b#gold'),
    ({}, None),                      # upstream's tests: no host key
    ({'host': None}, None),
    (object(), None),                # neither a mapping nor an object
])
def test_volume_host(volume, expected):
    rec = Recorder()
    assert rec.create_volume(volume) == 'done'
    assert rec.hosts == [expected]


def test_snapshot_of_a_volume_without_host():
    rec = Recorder()
    rec.create_snapshot({'volume': {}})
    rec.create_snapshot({})
    assert rec.hosts == [None, None]


@pytest.mark.parametrize('host, expected', [
    ({'host': 'h@b#silver'}, 'h@b#silver'),
    ('h@b#silver', 'h@b#silver'),    # a bare host string
    ({}, 'h@b#gold'),                # no target: the volume's own pool
    (None, 'h@b#gold'),
    (object(), 'h@b#gold'),          # e.g. upstream's mock.sentinel.host
])
def test_retype_target_host(host, expected):
    rec = Recorder()
    rec.retype(None, {'host': 'h@b#gold'}, None, None, host)
    assert rec.hosts == [expected]


def _disk(*names):
    backing = None
    for name in reversed(names):
        backing = types.SimpleNamespace(fileName=name, parent=backing)
    return backing


def test_chain_from_own_file_to_base():
    assert disks.chain(_disk('[ds] v/v-2.vmdk', '[ds] v/v-1.vmdk',
                             '[ds] v/v.vmdk')) == [
        '[ds] v/v-2.vmdk', '[ds] v/v-1.vmdk', '[ds] v/v.vmdk']


def test_cyclic_chain_is_refused():
    top = _disk('[ds] v/v-1.vmdk', '[ds] v/v.vmdk')
    top.parent.parent = top
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='cyclic or longer than 256'):
        disks.chain(top)


def test_endless_chain_is_refused():
    names = ['[ds] v/v-%d.vmdk' % i for i in range(300)]
    with pytest.raises(exception.VolumeBackendAPIException):
        disks.chain(_disk(*names))
    assert len(disks.chain(_disk(*names[:256]))) == 256


def test_readers_of_a_chain_that_cannot_be_followed_are_unknown():
    # Another VM's disk whose chain never ends: what it reads is unknown,
    # so its datastores are not judged (the caller refuses, as chain does).
    top = _disk('[ds] v/v-1.vmdk', '[ds] v/v.vmdk')
    top.parent.parent = top
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='cyclic'):
        disks.chain_datastores([types.SimpleNamespace(backing=top)])
    good = _disk('[ds] w/w-1.vmdk', '[ds] w/w.vmdk')
    assert disks.chain_datastores([types.SimpleNamespace(backing=good)]) == {
        '[ds] w/w-1.vmdk': None, '[ds] w/w.vmdk': None}
