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
"""Volumes from snapshots and clones of volumes: linked clones (within
the pool the scheduler chose, under vmware_max_snapshot_chain_depth) and
full ones.  The snapshots they are made from are volume_snapshots.py's.

See doc/snapshots.md for the behaviour this adds to upstream's driver.
"""

from cinder.volume.drivers.vmware import datastore as hub
from cinder.volume.drivers.vmware import volumeops
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import versionutils
from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext import locks
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import snapshots as vm_snapshots
from cinder_vmware_ext.vsphere import upstream


LOG = logging.getLogger(__name__)

# The snapshot point taken inside a template snapshot the first time a
# linked clone is made from it: vSphere clones linked only from a snapshot.
TEMPLATE_BASE_SNAPSHOT = 'linked-clone-base'


class CloneMixin(object):
    """Clone behaviour of ``VMwareVcVmdkExtDriver``."""

    # -- volumes from snapshots -----------------------------------------------

    def create_volume_from_snapshot(self, volume, snapshot):
        clone_type = self._get_clone_type(volume)
        backing = self.volumeops.get_backing(snapshot['volume_name'],
                                             snapshot['volume']['id'])
        if not backing:
            return self._nothing_to_clone('backing', snapshot, volume)
        if snapshot['provider_location']:
            return self._clone_from_template(volume, snapshot, clone_type)
        ref = self._cow_snapshot(backing, snapshot)
        if not ref:
            return self._nothing_to_clone('snapshot point', snapshot, volume)
        if clone_type == volumeops.LINKED_CLONE_TYPE:
            parent = self._snapshot_disks(ref)[0]
            if self._linked_possible(volume, parent,
                                     snapshot['volume_size']):
                return self._linked_clone(volume, backing, ref, parent)
        self._clone_backing(volume, backing, ref, volumeops.FULL_CLONE_TYPE,
                            snapshot['volume_size'])
        return None

    @staticmethod
    def _nothing_to_clone(missing, snapshot, volume):
        LOG.info("There is no %(missing)s for the snapshotted volume: "
                 "%(snap)s. Not creating any backing for the volume: "
                 "%(vol)s.", {'missing': missing, 'snap': snapshot['name'],
                              'vol': volume['name']})

    def _clone_from_template(self, volume, snapshot, clone_type):
        template = self._get_template_by_inv_path(
            snapshot['provider_location'])
        if clone_type == volumeops.LINKED_CLONE_TYPE:
            parent = self._disk_of(template).backing
            base = self.volumeops.get_snapshot(template,
                                               TEMPLATE_BASE_SNAPSHOT)
            if base is not None:
                parent = self._snapshot_disks(base)[0]
            if self._linked_possible(volume, parent,
                                     snapshot['volume_size']):
                if base is None:
                    base = self._template_base_snapshot(template)
                return self._linked_clone(volume, template, base, parent)
        self._create_volume_from_template(volume,
                                          snapshot['provider_location'])
        return None

    def _template_base_snapshot(self, template):
        """Take the snapshot point linked clones of a template need.

        vSphere does not snapshot templates, so the template becomes a VM
        for the moment of the snapshot (in its own resource pool and host)
        and a template again, also when the snapshot fails.  Concurrent
        first clones of one template take it once.
        """
        name = 'vmware-template-base-%s' % vim_util.get_moref_value(template)
        # Across services: a peer may take the same template's first
        # linked clone (active-active).
        with locks.across_services(name):
            base = self.volumeops.get_snapshot(template,
                                               TEMPLATE_BASE_SNAPSHOT)
            return base or self._take_template_base_snapshot(template)

    def _take_template_base_snapshot(self, template):
        host = retrieve.one(self.session, template, 'runtime.host')
        pool = upstream.host_resource_pool(self.ds_sel, host)
        self.volumeops.mark_as_virtual_machine(template, pool, host)
        try:
            return self.volumeops.create_snapshot(
                template, TEMPLATE_BASE_SNAPSHOT,
                'Read-only point for linked clones of this snapshot.')
        finally:
            self.volumeops.mark_backing_as_template(template)

    def _linked_possible(self, volume, parent, source_size):
        """Tell whether a linked clone of a disk may be made for a volume.

        Whether a linked clone over the disk ``parent`` (a backing info
        with its parents) may be made for ``volume`` in its pool; logs why
        not.
        """
        reason = None
        scope = self._pool_scope()
        pool_name = scope.pool if scope else None
        ds_name = vdisks.datastore_name(parent.fileName)
        depth = len(vdisks.chain(parent))  # the clone's delta adds one link
        if volume['size'] > source_size:
            reason = ('the volume (%d GB) is larger than its source (%d GB) '
                      'and a linked clone cannot be extended in place' %
                      (volume['size'], source_size))
        elif not self._depth_allowed(depth):
            reason = ('its disk chain would be %d delta disks deep, over '
                      'vmware_max_snapshot_chain_depth (%d)' %
                      (depth, self._max_chain_depth()))
        elif pool_name is not None:
            _inventory, pool = self._pools.find(pool_name)
            if not any(ds.name == ds_name for ds in pool.datastores):
                reason = ('pool %s cannot reach datastore %s of the parent '
                          'disk' % (pool_name, ds_name))
        if reason:
            LOG.warning("Volume %(vol)s: a full clone instead of the linked "
                        "clone its type asks for: %(why)s.",
                        {'vol': volume['id'], 'why': reason})
            return False
        return True

    def _linked_clone(self, volume, source_vm, snapshot_ref, parent):
        """Make a linked clone of a snapshot in the volume's pool.

        A linked clone of ``snapshot_ref`` in the volume's pool: its
        delta disk and home on the parent disk's datastore, registered on a
        host of the pool that can write there.
        """
        ds_name = vdisks.datastore_name(parent.fileName)
        pool_ds = [ds for ds in self._pool_datastores() if ds.name != ds_name]
        req = {hub.DatastoreSelector.SIZE_BYTES: 0,
               hub.DatastoreSelector.HARD_ANTI_AFFINITY_DS:
                   [ds.ref for ds in pool_ds]}
        host, resource_pool, summary = self._select_datastore(req)
        dc = self._get_dc(resource_pool)
        folder = self._get_volume_group_folder(dc, volume['project_id'])
        clone = self.volumeops.clone_backing(
            volume['name'], source_vm, snapshot_ref,
            volumeops.LINKED_CLONE_TYPE, summary.datastore, host=host,
            resource_pool=resource_pool,
            extra_config=self._get_extra_config(volume), folder=folder)
        # As upstream: vCenter 6.0+ keeps the delta disk's UUID.
        if not versionutils.is_compatible('6.0', self._vc_version,
                                          same_major=False):
            self.volumeops.update_backing_disk_uuid(clone, volume['id'])
        depth = self._chain_depth(clone)
        LOG.info("Created linked clone %(clone)s for volume %(vol)s over "
                 "%(parent)s, chain depth %(depth)d.",
                 {'clone': clone, 'vol': volume['id'],
                  'parent': parent.fileName,
                  'depth': depth})
        return {'metadata': self._with_depth(volume, depth)}

    def _pool_datastores(self):
        scope = self._pool_scope()
        if scope is None or scope.pool is None:
            return []
        _inventory, pool = self._pools.find(scope.pool)
        return pool.datastores

    # -- clones of volumes ----------------------------------------------------

    def create_cloned_volume(self, volume, src_vref):
        clone_type = self._get_clone_type(volume)
        backing = self.volumeops.get_backing(src_vref['name'], src_vref['id'])
        if not backing:
            LOG.info("There is no backing for the source volume: %(src)s. "
                     "Not creating any backing for volume: %(vol)s.",
                     {'src': src_vref['name'], 'vol': volume['name']})
            return None
        if self._in_use(src_vref):
            if clone_type == volumeops.LINKED_CLONE_TYPE:
                LOG.warning("Volume %s: a full clone of the attached source "
                            "volume instead of a linked clone (its disk is "
                            "written by the instance).", volume['id'])
            self._clone_attached_volume(src_vref, volume)
            return None
        if clone_type == volumeops.LINKED_CLONE_TYPE:
            parent = self._disk_of(backing).backing
            if src_vref['status'] != 'available':
                LOG.warning("Volume %(vol)s: a full clone instead of a linked "
                            "clone: the source is %(status)s.",
                            {'vol': volume['id'],
                             'status': src_vref['status']})
            elif self._linked_possible(volume, parent,
                                       src_vref['size']):
                return self._linked_clone_of_volume(volume, backing, parent)
        self._clone_backing(volume, backing, None, volumeops.FULL_CLONE_TYPE,
                            src_vref['size'])
        return None

    def _linked_clone_of_volume(self, volume, backing, parent):
        """Make a linked clone of a volume through a temporary snapshot.

        Linked clone through a temporary snapshot, always removed: the
        source keeps writing to a new delta, the clone reads the frozen
        disk (which vSphere keeps, shared, when the snapshot goes).
        """
        name = 'temp-snapshot-%s' % volume['id']
        try:
            snap = self.volumeops.create_snapshot(backing, name, None)
        except Exception:
            with excutils.save_and_reraise_exception():
                # vCenter may have taken it and the answer be lost.
                self._remove_temp_snapshot(backing, None, name)
        try:
            return self._linked_clone(volume, backing, snap, parent)
        finally:
            self._remove_temp_snapshot(backing, snap, name)

    def _temp_snapshot_now(self, backing, name):
        """Read the temporary snapshot as vCenter has it now.

        The temporary snapshot ``name`` as vCenter has it now; False
        when that cannot be read.
        """
        try:
            return self.volumeops.find_snapshot(backing, name, None)
        except vexc.VMwareDriverException:
            LOG.warning("Could not read the snapshots of %s.", backing,
                        exc_info=True)
            return False

    def _remove_temp_snapshot(self, backing, snap, name):
        """Remove the temporary snapshot, checking after a failure.

        Remove the temporary snapshot (``snap``, or found by name when
        None); looks after a failure whether vCenter removed it anyway.
        """
        for attempt in (1, 2):
            if snap is None or attempt > 1:
                now = self._temp_snapshot_now(backing, name)
                if now is None:
                    return  # not there (any more)
                snap = now or snap
                if snap is None:
                    break  # unknown, and no reference to remove
            try:
                vm_snapshots.remove(self.session, snap)
                return
            except vexc.VMwareDriverException:
                LOG.warning("Removing temporary snapshot %(name)s of "
                            "%(vm)s failed (attempt %(n)d).",
                            {'name': name, 'vm': backing, 'n': attempt},
                            exc_info=True)
                if self._temp_snapshot_now(backing, name) is None:
                    return  # vCenter removed it; the answer was lost
        LOG.error("Temporary snapshot %(name)s of %(vm)s is left behind; "
                  "remove it in vCenter.", {'name': name, 'vm': backing})
