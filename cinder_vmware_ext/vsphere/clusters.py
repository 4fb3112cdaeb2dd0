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
