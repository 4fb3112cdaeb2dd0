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
"""vmware_datastore_regex matching nothing: told apart from other empty
pools (pure, no simulator)."""

from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.core import model

HOSTS = [model.Host('h1', 'esx-1', cluster='c1'),
         model.Host('h9', 'esx-9', cluster='c9')]
CLUSTERS = [model.Cluster('c1', 'gold', 'DC1', ('h1',)),
            model.Cluster('c9', 'other', 'DC1', ('h9',))]


def inventory(*datastores):
    return model.Inventory(
        clusters={c.ref: c for c in CLUSTERS},
        hosts={h.ref: h for h in HOSTS},
        datastores={name: model.Datastore(
            ref=name, name=name, type='VMFS', capacity=100, free_space=50,
            mounts=(model.HostMount(host),))
            for name, host in datastores})


def test_reachable_datastores_are_those_the_clusters_mount():
    inv = inventory(('gold-1', 'h1'), ('other-1', 'h9'))
    found = eligibility.reachable_datastores(CLUSTERS[:1], inv)
    assert [d.name for d in found] == ['gold-1']


def test_regex_matching_only_another_clusters_datastore_matches_none():
    inv = inventory(('gold-1', 'h1'), ('other-1', 'h9'))
    rules = eligibility.Rules.from_config(regex='other-.*')
    reachable = eligibility.reachable_datastores(CLUSTERS[:1], inv)
    assert eligibility.regex_matches_none(rules, reachable)
    assert eligibility.empty_pool_reason(rules, reachable) == \
        'pool has no eligible datastore: regex other-.* matches none'


def test_matching_regex_or_no_regex_is_not_blamed():
    inv = inventory(('gold-1', 'h1'))
    reachable = eligibility.reachable_datastores(CLUSTERS[:1], inv)
    for rules in (eligibility.Rules.from_config(regex='gold-.*'),
                  eligibility.Rules()):
        assert not eligibility.regex_matches_none(rules, reachable)
        assert eligibility.empty_pool_reason(rules, reachable) == \
            'pool has no eligible datastore'
