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
"""The control plane is up and the scheduler sees one pool per cluster
with the topology's figures."""

import pytest


def expected_pools(topology):
    """Derive the datastores each cluster's pool may use.

    {cluster: set of datastores} a pool may use, from the topology: a
    datastore in normal mode, mounted read-write and accessible on a
    connected host of the cluster that is not in maintenance.
    """
    result = {}
    for dc in topology['datacenters']:
        for cluster in dc.get('clusters', []):
            usable_hosts = {
                h['name'] for h in cluster['hosts']
                if not h.get('maintenance') and
                h.get('connection_state', 'connected') == 'connected'}
            result[cluster['name']] = {
                ds['name'] for ds in dc.get('datastores', [])
                if ds.get('maintenance_mode', 'normal') == 'normal' and
                ds.get('accessible', True) and
                any(m['host'] in usable_hosts and
                    m.get('access_mode', 'readWrite') == 'readWrite' and
                    m.get('accessible', True) for m in ds['mounts'])}
    return result


def datastores_by_name(topology):
    return {ds['name']: ds for dc in topology['datacenters']
            for ds in dc.get('datastores', [])}


def test_service_list_shows_scheduler_and_volume_up(stack):
    out = stack.cli('service-list')
    rows = [line.split('|') for line in out.splitlines()
            if line.startswith('| cinder-')]
    states = {(r[1].strip(), r[2].strip()): r[5].strip() for r in rows}
    assert states == {('cinder-scheduler', stack.host): 'up',
                      ('cinder-volume', stack.host + '@vmware'): 'up'}


def test_get_pools_one_pool_per_cluster_with_topology_figures(
        cinder, topology):
    pools = {p.pool_name: p for p in cinder.pools.list(detailed=True)}
    wanted = expected_pools(topology)
    assert set(pools) == set(wanted)
    by_name = datastores_by_name(topology)
    for name, members in wanted.items():
        pool = pools[name]
        assert pool.name == 'cinder-stack@vmware#%s' % name
        assert pool.total_capacity_gb == pytest.approx(
            sum(by_name[d]['capacity_gb'] for d in members))
        assert pool.free_capacity_gb == pytest.approx(
            sum(by_name[d]['free_gb'] for d in members))
        assert pool.largest_datastore_free_gb == pytest.approx(
            max(by_name[d]['free_gb'] for d in members))
        assert pool.datastore_count == len(members)


def test_get_pools_detail_cli_names_every_pool(stack, clusters):
    out = stack.cli('get-pools', '--detail')
    for cluster in clusters:
        assert 'cinder-stack@vmware#%s' % cluster in out
