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
"""Storage profiles and pools, against the simulator's PBM endpoint.

``vmware_storage_profile`` narrows every pool to the datastores that comply
with one of the configured profiles (stats and placement alike); a volume
type's ``vmware:storage_profile`` narrows the datastores its volume may
land on inside its pool. Compliance comes from the topology's
``storage_profiles``; expected figures are worked out by hand.
"""

import pytest

from cinder import exception
from cinder.volume.drivers.vmware import exceptions as vmdk_exceptions

from tests.functional import driver_fixtures as fx
from tests.functional.simulator.test_simulator_pbm import start_coordination
from tests.functional.test_pools import backing_datastore


def _ds(name, cap, free, host, type_='VMFS'):
    return {'name': name, 'type': type_, 'capacity_gb': cap,
            'free_gb': free, 'mounts': [{'host': host}]}


TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [{'name': 'gold', 'hosts': [{'name': 'g1'}]},
                 {'name': 'silver', 'hosts': [{'name': 's1'}]}],
    'datastores': [
        _ds('gold-a', 100, 80, 'g1'),
        # Least free: best fit would choose it for a small volume.
        _ds('gold-b', 100, 20, 'g1'),
        _ds('gold-c', 50, 40, 'g1', type_='NFS'),
        _ds('silver-a', 200, 150, 's1'),
        _ds('silver-b', 300, 290, 's1'),
    ],
    'storage_profiles': [
        {'name': 'gold-policy', 'datastores': ['gold-a', 'gold-c',
                                               'silver-a']},
        {'name': 'big-policy', 'datastores': ['silver-b']},
        {'name': 'nothing-policy'},
    ],
}]}

# By hand: gold-a and gold-c in gold, silver-a in silver.
GOLD_POLICY = {
    'gold': {'datastore_count': 2, 'total_capacity_gb': 150.0,
             'free_capacity_gb': 120.0, 'largest_datastore_free_gb': 80.0,
             'provisioned_capacity_gb': (100 - 80) + (50 - 40)},
    'silver': {'datastore_count': 1, 'total_capacity_gb': 200.0,
               'free_capacity_gb': 150.0, 'largest_datastore_free_gb': 150.0,
               'provisioned_capacity_gb': 200 - 150},
}


@pytest.fixture(scope='module')
def state_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('cinder'))
    fx.init_cinder(path)
    start_coordination(path)
    return path


@pytest.fixture(scope='module')
def make(sim, state_dir):
    # Eager create (vmware_lazy_create=False): these tests check where
    # create_volume put the backing.
    with fx.drivers(sim, vmware_cluster_name=[],
                    vmware_lazy_create=False) as make:
        yield make


@pytest.fixture(scope='module')
def plain(make):
    """A driver with no vmware_storage_profile."""
    return make()


def test_configured_profile_counts_only_compliant_datastores(make, plain):
    drv = make(vmware_storage_profile=['gold-policy'])
    pools = fx.pools_by_name(drv)
    assert {name: {k: pool[k] for k in GOLD_POLICY['gold']}
            for name, pool in pools.items()} == GOLD_POLICY
    # Without the option every datastore counts.
    assert fx.pools_by_name(plain)['gold']['datastore_count'] == 3


def test_several_configured_profiles_count_their_union(make):
    drv = make(vmware_storage_profile=['gold-policy', 'big-policy'])
    pools = fx.pools_by_name(drv)
    assert pools['gold']['datastore_count'] == 2
    assert pools['silver']['datastore_count'] == 2
    assert pools['silver']['free_capacity_gb'] == 150.0 + 290.0


def test_configured_profile_confines_placement(make, sim):
    drv = make(vmware_storage_profile=['gold-policy'])
    ctx = fx.admin_context()
    # gold-b (20 free) would be the best fit; it does not comply.
    vol = fx.new_volume(ctx, size=1, host='functional@vmware#gold')
    drv.create_volume(vol)
    assert backing_datastore(sim, vol) == 'gold-c'
    drv.delete_volume(vol)


def test_configured_unknown_profile_is_a_clear_error(make):
    with pytest.raises(exception.InvalidConfigurationValue) as err:
        make(vmware_storage_profile=['no-such-policy'])
    assert 'no-such-policy' in str(err.value)
    assert 'vmware_storage_profile' in str(err.value)


def test_configured_profile_without_datastores_empties_pools(make):
    pools = fx.pools_by_name(make(vmware_storage_profile=['nothing-policy']))
    assert [p['datastore_count'] for p in pools.values()] == [0, 0]
    assert [p['free_capacity_gb'] for p in pools.values()] == [0, 0]


def test_type_profile_lands_on_a_compliant_datastore_of_its_pool(plain, sim):
    ctx = fx.admin_context()
    gold_type = fx.volume_type(ctx, storage_profile='gold-policy')
    # Untyped: best fit goes to gold-b.
    free = fx.new_volume(ctx, size=1, host='functional@vmware#gold')
    plain.create_volume(free)
    assert backing_datastore(sim, free) == 'gold-b'
    # Typed: best fit among the compliant ones of gold only.
    small = fx.new_volume(ctx, size=1, type_id=gold_type,
                          host='functional@vmware#gold')
    plain.create_volume(small)
    assert backing_datastore(sim, small) == 'gold-c'
    big = fx.new_volume(ctx, size=50, type_id=gold_type,
                        host='functional@vmware#gold')
    plain.create_volume(big)
    assert backing_datastore(sim, big) == 'gold-a'
    # The same type in silver: its one compliant datastore, not silver-b.
    other = fx.new_volume(ctx, size=1, type_id=gold_type,
                          host='functional@vmware#silver')
    plain.create_volume(other)
    assert backing_datastore(sim, other) == 'silver-a'
    for vol in (free, small, big, other):
        plain.delete_volume(vol)


def test_type_profile_with_no_compliant_datastore_in_the_pool(plain):
    ctx = fx.admin_context()
    big_type = fx.volume_type(ctx, storage_profile='big-policy')
    vol = fx.new_volume(ctx, size=1, type_id=big_type,
                        host='functional@vmware#gold')
    with pytest.raises(vmdk_exceptions.NoValidDatastoreException) as err:
        plain.create_volume(vol)
    assert 'gold' in str(err.value)
    assert plain.volumeops.get_backing(vol.name, vol.id) is None


def test_type_with_unknown_profile_is_a_clear_error(plain):
    ctx = fx.admin_context()
    bad_type = fx.volume_type(ctx, storage_profile='no-such-policy')
    vol = fx.new_volume(ctx, size=1, type_id=bad_type,
                        host='functional@vmware#gold')
    with pytest.raises(vmdk_exceptions.ProfileNotFoundException) as err:
        plain.create_volume(vol)
    assert 'no-such-policy' in str(err.value)
    assert plain.volumeops.get_backing(vol.name, vol.id) is None
