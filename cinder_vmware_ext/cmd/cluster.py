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
"""``cinder-vmware cluster``: list, create and delete compute clusters,
refusing to delete one that Cinder or any VM still needs."""


from cinder_vmware_ext.cmd import backend
from cinder_vmware_ext.cmd import datastore
from cinder_vmware_ext.cmd import parsing
from cinder_vmware_ext.cmd import toolkit
from cinder_vmware_ext.vsphere import clusters as vclusters

LIST_COLUMNS = ('Name', 'Datacenter', 'Hosts', 'Datastores', 'VMs',
                'Cinder volumes', 'Pool of this backend')


def _cinder_volumes(vm_names):
    return sorted(m.group(1) for m in map(toolkit.VOLUME_NAME.match,
                                          vm_names) if m)


def _backend_clusters(section):
    return set(section.vmware_cluster_name or [])


def _session(app_options):
    section, _host = backend.load(app_options.config_file,
                                  app_options.backend, app_options.host)
    return section, backend.session(section)


class List(parsing.Lister):
    """List vCenter's compute clusters with their hosts and volumes.

    Compute clusters of vCenter: hosts, datastores, VMs, Cinder
    volumes, and whether a pool of this backend names it.
    """

    auth_required = False

    def take_action(self, args):
        section, session = _session(self.app.options)
        mine = _backend_clusters(section)
        estate = vclusters.estate(session)
        names = {v: n for v, (n, _vms, _m) in estate.datastores.items()}
        return LIST_COLUMNS, [
            (c.name, c.datacenter, ', '.join(c.hosts),
             ', '.join(sorted(names.get(d, d) for d in c.datastores)),
             len(c.vms), len(_cinder_volumes(c.vms)), c.name in mine)
            for c in estate.clusters]


class _Change(parsing.Command):

    auth_required = False

    @property
    def arguments(self):
        return (parsing.Arg('name', metavar='NAME', help="the cluster's name"),
                parsing.Arg('--datacenter', metavar='DC',
                            required=self.datacenter_required,
                            help='the datacenter it is (to be) in'),
                parsing.DRY_RUN)

    def say(self, text):
        self.app.stdout.write(text + '\n')


class Create(_Change):
    """Create an empty compute cluster in a datacenter.

    Create an empty cluster in a datacenter's host folder
    (CreateClusterEx).
    """

    datacenter_required = True

    def take_action(self, args):
        if not args.name.strip() or len(args.name) > 80 or '/' in args.name:
            raise backend.BackendError('cluster name %r: must be 1-80 '
                                       'characters without "/"' % args.name)
        _section, session = _session(self.app.options)
        folders = vclusters.datacenters(session)
        if args.datacenter not in folders:
            raise backend.BackendError(
                'datacenter %s: no such datacenter (there are: %s)' % (
                    args.datacenter, ', '.join(sorted(folders)) or 'none'))
        if any(c.name == args.name and c.datacenter == args.datacenter
               for c in vclusters.estate(session).clusters):
            raise backend.BackendError('cluster %s: already exists in '
                                       'datacenter %s' % (args.name,
                                                          args.datacenter))
        if args.dry_run:
            self.say('would create cluster %s in datacenter %s'
                     % (args.name, args.datacenter))
            return 0
        try:
            vclusters.create(session, folders[args.datacenter], args.name)
        except Exception as err:
            raise backend.BackendError('cluster %s: vCenter refused to '
                                       'create it: %s' % (
                                           args.name,
                                           backend.root_cause(err)))
        self.say('created cluster %s in datacenter %s'
                 % (args.name, args.datacenter))
        return 0


def delete_refusal(cluster, estate, backend_clusters, promised):
    """Return why a cluster must not be deleted, or None.

    Why ``cluster`` must not be deleted (None: it may): a pool of this
    backend names it, VMs (Cinder volumes or not) run on its hosts, or a
    datastore only its hosts mount (it would leave vCenter) holds a VM or
    a volume Cinder has promised there.
    """
    if cluster.name in backend_clusters:
        return ('a pool of this backend names it (vmware_cluster_name); '
                'remove it from cinder.conf first')
    volumes = _cinder_volumes(cluster.vms)
    if volumes:
        return 'its hosts run the backing VMs of Cinder volumes %s' % (
            ', '.join(volumes))
    if cluster.vms:
        return 'its hosts run VMs %s' % ', '.join(cluster.vms)
    hosts = estate.cluster_hosts.get(cluster.value, set())
    for value in cluster.datastores:
        name, vms, mounts = estate.datastores.get(value, (value, [], set()))
        if not mounts or not mounts <= hosts:
            continue
        if vms:
            return ('datastore %s, mounted only by its hosts, holds VMs %s'
                    % (name, ', '.join(vms)))
        if promised.get(value):
            return ('datastore %s, mounted only by its hosts, holds Cinder '
                    'volumes %s' % (name, ', '.join(sorted(promised[value]))))
    return None


class Delete(_Change):
    """Delete a cluster (Destroy_Task), unless Cinder or a VM needs it."""

    datacenter_required = False

    def take_action(self, args):
        ops = datastore.Ops(self.app.options)
        estate = vclusters.estate(ops.session)
        found = [c for c in estate.clusters if c.name == args.name and
                 args.datacenter in (None, c.datacenter)]
        if not found:
            raise backend.BackendError('cluster %s: no such cluster%s' % (
                args.name, ' in datacenter %s' % args.datacenter
                if args.datacenter else ''))
        if len(found) > 1:
            raise backend.BackendError(
                'cluster %s: %d clusters of that name (in datacenters %s); '
                'give --datacenter' % (args.name, len(found), ', '.join(
                    c.datacenter for c in found)))
        cluster = found[0]
        named, _held = ops.promises()
        promised = {}
        for volume_id, (_name, promise) in named.items():
            promised.setdefault(promise.datastore, set()).add(volume_id)
        reason = delete_refusal(cluster, estate,
                                _backend_clusters(ops.section), promised)
        if reason:
            raise backend.BackendError('cluster %s: refused: %s'
                                       % (args.name, reason))
        where = 'cluster %s in datacenter %s (hosts: %s)' % (
            cluster.name, cluster.datacenter, ', '.join(cluster.hosts) or
            'none')
        if args.dry_run:
            self.say('would delete %s' % where)
            return 0
        try:
            vclusters.destroy(ops.session, cluster.value)
        except Exception as err:
            raise backend.BackendError('cluster %s: vCenter refused to '
                                       'delete it: %s' % (
                                           args.name,
                                           backend.root_cause(err)))
        self.say('deleted %s' % where)
        return 0


COMMANDS = {'cluster list': List, 'cluster create': Create,
            'cluster delete': Delete}
