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
"""Cluster round trips of ``cinder-vmware cluster``: one read of the
clusters with their hosts, VMs and datastores, the datacenters' host
folders, CreateClusterEx and Destroy_Task."""

import dataclasses
import typing

from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve


@dataclasses.dataclass
class ClusterInfo:
    """One ClusterComputeResource as ``cluster list/delete`` see it."""

    ref: object
    value: str                       # its moref value
    name: str
    datacenter: str
    hosts: typing.List[str]          # host names
    datastores: typing.List[str]     # datastore ref values
    vms: typing.List[str]            # names of the VMs on its hosts


@dataclasses.dataclass
class Estate:
    """Hold every cluster and what the datastores hold.

    Every cluster, and what the datastores hold: {datastore ref value:
    (name, [VM names], {host ref values mounting it})}.
    """

    clusters: typing.List[ClusterInfo]
    datastores: typing.Dict[str, tuple]
    cluster_hosts: typing.Dict[str, typing.Set[str]]  # cluster -> hosts
    hosts: typing.Dict[str, str]                      # host -> name


def _datacenter_name(value, objects):
    while value in objects:
        ref, props = objects[value]
        if ref._type == 'Datacenter':
            return props.get('name', value)
        value = retrieve.value_of(props.get('parent'))
    return ''


def estate(session):
    """Read clusters, hosts, VMs and datastores in one pass.

    Clusters with their hosts, the hosts' VMs and the datastores with
    their VMs and mounts, in one PropertyCollector pass.
    """
    objects = retrieve.retrieve(session, {
        'ClusterComputeResource': ['name', 'parent', 'host', 'datastore'],
        'HostSystem': ['name', 'vm'],
        'VirtualMachine': ['name'],
        'Datastore': ['name', 'vm', 'host'],
        'Datacenter': ['name', 'parent'],
        'Folder': ['name', 'parent'],
    })

    def values(prop, type_='ManagedObjectReference'):
        return [retrieve.value_of(r) for r in retrieve.items(prop, type_)]

    def name(value):
        return objects[value][1].get('name', value) if value in objects \
            else value

    found = Estate([], {}, {}, {})
    for value, (ref, props) in objects.items():
        if ref._type == 'HostSystem':
            found.hosts[value] = props.get('name', value)
        if ref._type == 'Datastore':
            mounts = {retrieve.value_of(m.key) for m in retrieve.items(
                props.get('host'), 'DatastoreHostMount')}
            found.datastores[value] = (
                props.get('name', value),
                sorted(name(v) for v in values(props.get('vm'))), mounts)
    for value, (ref, props) in sorted(objects.items()):
        if ref._type != 'ClusterComputeResource':
            continue
        hosts = values(props.get('host'))
        found.cluster_hosts[value] = set(hosts)
        vms = sorted(name(vm) for h in hosts if h in objects
                     for vm in values(objects[h][1].get('vm')))
        found.clusters.append(ClusterInfo(
            ref=ref, value=value, name=props.get('name', value),
            datacenter=_datacenter_name(
                retrieve.value_of(props.get('parent')), objects),
            hosts=sorted(name(h) for h in hosts),
            datastores=sorted(values(props.get('datastore'))), vms=vms))
    found.clusters.sort(key=lambda c: (c.name, c.datacenter))
    return found


def datacenters(session):
    """{datacenter name: its hostFolder moref}, one pass."""
    objects = retrieve.retrieve(session, {
        'Datacenter': ['name', 'hostFolder']})
    return {props.get('name'): props.get('hostFolder')
            for _ref, props in objects.values()
            if props.get('hostFolder') is not None}


def create(session, host_folder, name):
    """Create an empty cluster (Folder.CreateClusterEx).

    Folder.CreateClusterEx with an empty configuration: the new
    cluster's moref.  The caller saw no entity ``name`` in the folder: one
    there after an error (a lost answer, its retry refused as
    DuplicateName) is the cluster vCenter made.
    """
    spec = session.vim.client.factory.create('ns0:ClusterConfigSpecEx')

    def made():
        found = retrieve.find_child(session, host_folder, name)
        if getattr(found, '_type', None) == 'ClusterComputeResource':
            return found
        return None
    return faults.unless_applied(
        lambda: session.invoke_api(session.vim, 'CreateClusterEx',
                                   host_folder, name=name, spec=spec),
        made, 'Creating cluster %s' % name)


def destroy(session, cluster_value):
    """ManagedEntity.Destroy_Task on the cluster.

    After an error the cluster is looked up: gone means vCenter
    destroyed it and the answer was lost.
    """
    ref = vim_util.get_moref(cluster_value, 'ClusterComputeResource')

    def gone():
        try:
            retrieve.one(session, ref, 'name')
        except vexc.ManagedObjectNotFoundException:
            return True
        return False
    faults.unless_applied(
        lambda: session.wait_for_task(session.invoke_api(
            session.vim, 'Destroy_Task', ref)),
        gone, 'Destroying cluster %s' % cluster_value)
