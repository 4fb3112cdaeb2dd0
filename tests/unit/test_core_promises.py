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
"""Promises: their record on a volume row, and how they count."""

from cinder_vmware_ext.core import model
from cinder_vmware_ext.core import placement
from cinder_vmware_ext.core import pools
from cinder_vmware_ext.core import promises

GiB = model.GiB
VC = '4a2b6c1e-0000-4000-8000-000000000001'


def test_location_round_trip_and_foreign_values():
    p = promises.Promise(VC, 'datastore-12', 5 * GiB, promises.THIN)
    assert p.location() == ('vmware-ext-promise:%s:datastore-12:%d:thin'
                            % (VC, 5 * GiB))
    assert promises.parse(p.location()) == p
    assert p.location().startswith(promises.location_prefix(VC))
    for other in (None, '', 'fcd:1234', 'vmware-ext-promise:x:y:z:thick',
                  'vmware-ext-promise:a:b:1:fat', 'vmware-ext-promise:a:b',
                  'vmware-ext-promise:a:b:1:thick:later',
                  'vmware-ext-promise:a:b:1:thick:landing:x'):
        assert promises.parse(other) is None
    assert not p.landing


def test_a_landing_promise_round_trips_and_counts_the_same():
    resting = promises.Promise(VC, 'datastore-12', 5 * GiB)
    landing = promises.Promise(VC, 'datastore-12', 5 * GiB, landing=True)
    assert landing.location() == resting.location() + ':landing'
    assert promises.parse(landing.location()) == landing
    assert promises.parse(landing.location()).landing
    assert promises.held([landing]) == promises.held([resting])


def test_kind_of_disk_types():
    assert promises.kind_of('thin') == promises.THIN
    assert promises.kind_of('thick') == promises.THICK
    assert promises.kind_of('eagerZeroedThick') == promises.THICK


def _inventory():
    ds = [model.Datastore('d1', 'ds1', 'VMFS', 10 * GiB, 8 * GiB,
                          mounts=(model.HostMount('h1'),)),
          model.Datastore('d2', 'ds2', 'VMFS', 10 * GiB, 6 * GiB,
                          mounts=(model.HostMount('h1'),))]
    cluster = model.Cluster('c1', 'gold', hosts=('h1',))
    return model.Inventory(clusters={'c1': cluster},
                           hosts={'h1': model.Host('h1', 'h1', 'c1')},
                           datastores={d.ref: d for d in ds})


def test_thick_promises_are_not_free_thin_ones_only_provisioned():
    inv = _inventory()
    pool = pools.build_pools('cluster', list(inv.clusters.values()), inv,
                             pools.eligibility.Rules())[0]
    held = promises.held([
        promises.Promise(VC, 'd1', 5 * GiB, promises.THICK),
        promises.Promise(VC, 'd1', 2 * GiB, promises.THIN),
        promises.Promise(VC, 'd2', 1 * GiB, promises.THICK)])
    figures = pools.capacity(pool, inv, held)
    assert figures.promised_gb == 8
    assert figures.free_gb == (8 - 5) + (6 - 1)
    assert figures.largest_free_gb == 5
    assert figures.provisioned_gb == (2 + 4) + 8
    # Placement: a 4 GiB volume fits d2 only (d1 has 3 left).
    assert placement.choose(pool, 4 * GiB, held.thick).datastore.ref == 'd2'


def test_a_preferred_datastore_wins_when_it_fits():
    inv = _inventory()
    pool = pools.build_pools('cluster', list(inv.clusters.values()), inv,
                             pools.eligibility.Rules())[0]
    # best fit would take d2 (6 free); the promised d1 is kept.
    assert placement.choose(pool, 2 * GiB, prefer='d1').datastore.ref == 'd1'
    # unless it does not fit any more.
    assert placement.choose(pool, 2 * GiB, {'d1': 7 * GiB},
                            prefer='d1').datastore.ref == 'd2'
