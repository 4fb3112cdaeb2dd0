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
"""Cluster round trips of ``cinder-vmware cluster``: the datacenters'
host folders, CreateClusterEx and Destroy_Task."""

from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import datastores


def datacenters(session):
    """{datacenter name: its hostFolder moref}, one pass."""
    objects = datastores._retrieve(session, {
        'Datacenter': ['name', 'hostFolder']})
    return {props.get('name'): props.get('hostFolder')
            for _ref, props in objects.values()
            if props.get('hostFolder') is not None}


def create(session, host_folder, name):
    """Folder.CreateClusterEx with an empty configuration: the new
    cluster's moref."""
    spec = session.vim.client.factory.create('ns0:ClusterConfigSpecEx')
    return session.invoke_api(session.vim, 'CreateClusterEx', host_folder,
                              name=name, spec=spec)


def destroy(session, cluster_value):
    """ManagedEntity.Destroy_Task on the cluster."""
    task = session.invoke_api(
        session.vim, 'Destroy_Task',
        vim_util.get_moref(cluster_value, 'ClusterComputeResource'))
    session.wait_for_task(task)
