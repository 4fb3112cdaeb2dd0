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
"""Driver-assisted migration and retype by relocation (RelocateVM_Task).

A volume's backing moves between pools of one vCenter with a single
``RelocateVM_Task``: storage vMotion of its files onto a datastore of the
target pool plus a move of its host and resource pool into the target
cluster.  No byte goes through the cinder-volume host, and the backing
keeps its identity (moref, name, instance UUID): Cinder finds it by name on
either side.

What is moved here and what is left to Cinder's generic migration (which
copies the data through the cinder-volume host) is documented in
doc/migration.md; in short, ``(False, None)`` / ``False`` for another
vCenter, another kind of backend, another datacenter, an in-use volume, a
disk chain sharing files with linked clones on a datastore the target pool
cannot reach, and a target pool without room.
"""

import collections

from cinder import exception
from cinder.volume import volume_utils
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units
from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext.core import eligibility
from cinder_vmware_ext.core import placement
from cinder_vmware_ext.core import pools
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import upstream
from cinder_vmware_ext.vsphere import usage

LOG = logging.getLogger(__name__)


class CannotRelocate(Exception):
    """The backing cannot be moved by the driver; Cinder should copy it."""


class Target(collections.namedtuple('Target', 'pool inventory own')):
    """A pool to move a backing into.

    ``own``: the pool is one of this backend's (placement holds space in
    its ledger and follows its eligibility rules).
    """


class _Where(collections.namedtuple(
        'Where', 'datastore host backing chain datastores')):
    """Describe where a backing is: datastore, host and disk files.

    Where a backing is: its datastore and host (moref values), its disk
    chain files ({'[ds] path': datastore moref value}) and the datastore
    refs it uses.
    """


class MigrationMixin(object):
    """Migration behaviour of ``VMwareVcVmdkExtDriver``."""

    # -- migrate_volume ------------------------------------------------------

    def migrate_volume(self, context, volume, host):
        """Move the backing into the target pool of this vCenter.

        :returns: ``(True, {'host': ...})`` when moved (or nothing to
            move), ``(False, None)`` when Cinder's generic migration must
            do it
        """
        target = self._migration_target(host)
        if target is None:
            return (False, None)
        if self._in_use(volume):
            # The instance VM has the disk open: moving the files under
            # it is unsafe, and vSphere refuses to relocate the backing
            # while another VM holds its disk.
            LOG.info('Volume %s is in use; leaving its migration to Cinder.',
                     volume['name'])
            return (False, None)
        new_host = volume_utils.append_host(
            volume_utils.extract_host(host['host'], 'backend'),
            target.pool.name)
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if backing is None:
            # Lazy create: the backing will be created in the new pool.
            LOG.debug('Volume %s has no backing; migration only changes its '
                      'host.', volume['name'])
            return (True, {'host': new_host})
        try:
            self._relocate_into(volume, backing, target,
                                profile=self._profile_name(
                                    volume['volume_type_id']))
        except CannotRelocate as err:
            LOG.info('Volume %(vol)s cannot be moved by the driver: %(why)s; '
                     'leaving its migration to Cinder.',
                     {'vol': volume['name'], 'why': err})
            return (False, None)
        return (True, {'host': new_host})

    def _migration_target(self, host):
        """Return the target pool of a migration on this vCenter, or None.

        The target pool when ``host`` is a pool of this driver on this
        vCenter, else None.
        """
        capabilities = host.get('capabilities') or {}
        location = capabilities.get('location_info') or ''
        prefix = self._pools.location_info('')
        if not location.startswith(prefix) or len(location) == len(prefix):
            LOG.debug('Target %(host)s (location %(loc)s) is not a pool of '
                      'this driver on this vCenter.',
                      {'host': host.get('host'), 'loc': location})
            return None
        pool_name = location[len(prefix):]
        own = (volume_utils.extract_host(host['host'], 'backend') ==
               volume_utils.extract_host(self.host, 'backend'))
        try:
            return self._find_target(pool_name, own)
        except exception.VolumeBackendAPIException as err:
            LOG.warning('Target pool %(pool)s of %(host)s not found on this '
                        'vCenter: %(err)s', {'pool': pool_name,
                                             'host': host['host'],
                                             'err': err.msg})
            return None

    def _find_target(self, pool_name, own):
        """Resolve a pool name of this driver on the same vCenter.

        Resolve a pool name of this backend, or of another backend of
        this driver on the same vCenter.
        """
        if own:
            inventory, pool = self._pools.find(pool_name)
            return Target(pool, inventory, True)
        # Another backend: its cluster list, pool mode and datastore rules
        # are its own configuration, unknown here.  Its pool is a cluster of
        # this vCenter by that name, else a datastore by that name.
        inventory, _ours = self._pools.current()
        clusters = pools.select_clusters(inventory, [])
        rules = eligibility.Rules()
        for mode in (pools.CLUSTER_MODE, pools.DATASTORE_MODE):
            for pool in pools.build_pools(mode, clusters, inventory, rules):
                if pool.name == pool_name:
                    return Target(pool, inventory, False)
        raise exception.VolumeBackendAPIException(
            data='no cluster or datastore named %s' % pool_name)

    # -- retype ---------------------------------------------------------------

    def retype(self, ctxt, volume, new_type, diff, host):
        """Upstream's retype, after moving the backing into the target pool.

        Upstream's retype never looks at the target pool: a retype to
        another pool of this backend would leave the backing where it is.
        Here a backing outside the target pool is relocated into it
        (converting the disk type on the way), then the adapter type and
        storage profile are changed as upstream does.
        """
        target = self._retype_target(host)
        if target is None or self._in_use(volume):
            return super(MigrationMixin, self).retype(ctxt, volume, new_type,
                                                      diff, host)
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if backing is None or self._is_in_pool(self._where(backing),
                                               target.pool):
            return super(MigrationMixin, self).retype(ctxt, volume, new_type,
                                                      diff, host)

        new_disk_type = self._get_extra_spec_disk_type(new_type['id'])
        convert = new_disk_type != self._get_disk_type(volume)
        new_profile = self._profile_name(new_type['id'])
        try:
            self._relocate_into(volume, backing, target, profile=new_profile,
                                disk_type=new_disk_type if convert else None)
        except CannotRelocate as err:
            LOG.warning('Cannot retype volume %(vol)s by relocation: %(why)s.',
                        {'vol': volume['name'], 'why': err})
            return False
        self._change_adapter_type(volume, backing, new_type, new_disk_type)
        if self._storage_policy_enabled and (
                new_profile != self._profile_name(volume['volume_type_id'])):
            profile_id = (self.ds_sel.get_profile_id(new_profile)
                          if new_profile else None)
            self.volumeops.change_backing_profile(backing, profile_id)
        LOG.info('Volume %(vol)s retyped into pool %(pool)s by relocation.',
                 {'vol': volume['name'], 'pool': target.pool.name})
        return True

    def _retype_target(self, host):
        """The pool of this backend named in the retype's target host."""
        # Cinder passes {'host': ...}; a bare host string works too.
        name = host if isinstance(host, str) else (
            host.get('host') if isinstance(host, dict) else None)
        pool_name = volume_utils.extract_host(name, 'pool')
        if not pool_name:
            return None
        return self._find_target(pool_name, own=True)

    def _change_adapter_type(self, volume, backing, new_type, disk_type):
        # As upstream's retype does: re-attach the disk on a new adapter.
        adapter_type = self._get_adapter_type(volume)
        new_adapter_type = self._get_extra_spec_adapter_type(new_type['id'])
        if new_adapter_type == adapter_type:
            return
        disk_device = upstream.disk_device(self.volumeops, backing)
        path = disk_device.backing.fileName
        self.volumeops.detach_disk_from_backing(backing, disk_device)
        try:
            self.volumeops.attach_disk_to_backing(
                backing, disk_device.capacityInKB, disk_type,
                new_adapter_type, None, path)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._reattach(volume, backing, disk_device, disk_type,
                               adapter_type)

    def _reattach(self, volume, backing, disk_device, disk_type,
                  adapter_type):
        """Put a detached disk back on its old adapter.

        Undo of a detach whose re-attach failed: the disk goes back on
        its old adapter, so the volume keeps its disk.
        """
        path = disk_device.backing.fileName
        try:
            if path in self.volumeops.disk_files(backing):
                return
            self.volumeops.attach_disk_to_backing(
                backing, disk_device.capacityInKB, disk_type, adapter_type,
                None, path)
            LOG.error('Changing the adapter type of volume %(vol)s failed; '
                      'its disk %(path)s is attached as before.',
                      {'vol': volume['name'], 'path': path})
        except Exception:  # noqa: the original error is raised
            LOG.exception('Volume %(vol)s: its disk %(path)s is detached '
                          'from backing VM %(vm)s and could not be attached '
                          'again; attach it in vCenter.',
                          {'vol': volume['name'], 'path': path,
                           'vm': backing})

    def _profile_name(self, type_id):
        if not self._storage_policy_enabled:
            return None
        return self._get_extra_spec_storage_profile(type_id)

    # -- relocation -----------------------------------------------------------

    def _relocate_into(self, volume, backing, target, profile=None,
                       disk_type=None):
        """Relocate ``backing`` onto a datastore and host of the target pool.

        The current datastore is kept when it belongs to the pool (only the
        host and resource pool move); a disk type conversion always moves
        to another datastore, as upstream converts by copying.

        :raises CannotRelocate: the driver cannot do it (Cinder can copy)
        :raises VolumeBackendAPIException: vSphere failed the relocation;
            RelocateVM_Task is atomic, so the backing is intact where it was
        """
        pool = target.pool
        where = self._where(backing)
        if disk_type is None and self._is_in_pool(where, pool):
            return
        self._check_relocatable(where, target)
        excluded = self._non_compliant_in(pool, profile) if profile else set()
        if disk_type is not None:
            excluded.add(where.datastore)
        size = volume['size'] * units.Gi
        keep = (where.datastore not in excluded and any(
            ds.ref == where.datastore for ds in pool.datastores))
        release = None
        if keep:
            ds_ref = where.datastore
            ds = target.inventory.datastores[ds_ref]
            hosts = eligibility.writable_hosts(ds, pool.host_refs)
        else:
            ds_ref, hosts, release = self._choose_datastore(
                target, size, excluded)
        try:
            host_value = where.host if where.host in hosts else hosts[0]
            resource_pool = self._resource_pool_of(host_value,
                                                   target.inventory)
            LOG.info('Relocating backing of volume %(vol)s to datastore '
                     '%(ds)s, host %(host)s of pool %(pool)s.',
                     {'vol': volume['name'], 'ds': ds_ref,
                      'host': host_value, 'pool': pool.name})
            self.volumeops.relocate_backing(
                backing, vim_util.get_moref(ds_ref, 'Datastore'),
                resource_pool, vim_util.get_moref(host_value, 'HostSystem'),
                disk_type)
        except vexc.VimException as err:
            msg = ('Relocating the backing of volume %(vol)s into pool '
                   '%(pool)s failed: %(err)s' %
                   {'vol': volume['name'], 'pool': pool.name, 'err': err})
            LOG.error(msg)
            raise exception.VolumeBackendAPIException(data=msg)
        finally:
            if release:
                release()

    def _choose_datastore(self, target, size, excluded):
        """(datastore ref, writable hosts, release) in the target pool."""
        try:
            if target.own:
                placed = self._pools.place(target.pool.name, size,
                                           excluded=excluded)
                return (placed.choice.datastore.ref,
                        list(placed.choice.host_refs), placed.release)
            choice = placement.choose(
                target.pool, size, policy=self.configuration.safe_get(
                    'vmware_placement_policy') or placement.BEST_FIT,
                excluded=excluded)
            return choice.datastore.ref, list(choice.host_refs), None
        except (exception.VolumeBackendAPIException,
                placement.NoDatastoreFits) as err:
            raise CannotRelocate(getattr(err, 'msg', None) or str(err))

    def _where(self, backing):
        props = retrieve.several(
            self.session, backing,
            ['datastore', 'runtime.host', 'config.hardware.device'])
        datastores = retrieve.items(props.get('datastore'),
                                    'ManagedObjectReference')
        host = props.get('runtime.host')
        return _Where(
            vim_util.get_moref_value(datastores[0]) if datastores else None,
            vim_util.get_moref_value(host) if host else None,
            backing, _disk_chains(props.get('config.hardware.device')),
            tuple(datastores))

    @staticmethod
    def _is_in_pool(where, pool):
        hosts = set(pool.host_refs)
        if pool.cluster:
            hosts.update(pool.cluster.hosts)
        return (where.host in hosts and
                any(ds.ref == where.datastore for ds in pool.datastores))

    def _check_relocatable(self, where, target):
        pool, inventory = target.pool, target.inventory
        reachable = {ds.ref for ds in pool.datastores}
        unreachable = {ds for ds in self._shared_files(where).values()
                       if ds not in reachable}
        if unreachable:
            raise CannotRelocate(
                'its disk chain shares files with other VMs (linked clones) '
                'on datastore(s) %s, outside pool %s; they would stay there'
                % (', '.join(sorted(
                    inventory.datastores[r].name if r in inventory.datastores
                    else r for r in unreachable)), pool.name))
        source = inventory.datastores.get(where.datastore)
        target_dc = (pool.cluster.datacenter if pool.cluster else
                     pool.datastores[0].datacenter if pool.datastores
                     else None)
        if source is not None and source.datacenter != target_dc:
            # Cross-datacenter relocation also needs a folder of the other
            # datacenter (and vCenter 6.0+ xvMotion); Cinder copies instead.
            raise CannotRelocate(
                'pool %s is in datacenter %s, the backing in %s'
                % (pool.name, target_dc, source.datacenter))

    def _shared_files(self, where):
        """List the backing's disk files that other VMs' chains use.

        Files of the backing's disk chains that other VMs' chains use
        (a linked clone's parent, or a disk linked clones were made from):
        RelocateVM leaves those where they are, shared.
        """
        readers = usage.readers(self.session, where.datastores,
                                exclude=where.backing)
        return readers.shared(where.chain)


def _disk_chains(devices):
    """{file name: datastore moref value} of every disk's chain."""
    return vdisks.chain_datastores(
        [d for d in retrieve.items(devices, 'VirtualDevice')
         if d.__class__.__name__ == 'VirtualDisk'])
