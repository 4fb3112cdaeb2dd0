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
"""Generic volume groups and crash-consistent group snapshots.

See doc/groups.md.  A group has no object of its own in vCenter.  Groups
whose type has no ``consistent_group_snapshot_enabled="<is> True"`` are
Cinder's generic groups: every method here raises NotImplementedError for
them and Cinder's volume manager runs its generic flow (one volume, one
snapshot at a time through the driver's own entry points).

A consistent group snapshot freezes the group's volumes at one instant:

* volumes attached to one instance VM: ONE vSphere snapshot of the
  instance VM (memory off; quiesced when ``vmware_group_snapshot_quiesce``)
  freezes all their disks; each volume's frozen disk is then copied into
  a template VM holding only that disk (a template-format snapshot, as
  a template snapshot of an attached volume is), and the instance's
  snapshot is removed (its deltas consolidated), in all cases.  Volumes
  whose type says COW get a template-format snapshot too: a COW snapshot
  lives on the backing VM, whose disk the instance writes, so neither
  upstream nor this driver takes one of an attached volume; the
  snapshot's ``provider_location`` says its format, so delete, revert and
  create-from-snapshot treat it as the template it is;
* available volumes are still: each is snapshotted as usual (COW or
  template, by its type).

Refused before vCenter is asked to change anything: volumes attached to
more than one instance VM.  Any failure deletes what the group snapshot
made so far.
"""

from cinder import exception
from cinder.i18n import _
from cinder.objects import fields
from cinder.volume.drivers.vmware import volumeops
from cinder.volume import volume_utils
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import group_snapshots

LOG = logging.getLogger(__name__)

# The name of the instance VM's snapshot while a group snapshot is taken.
POINT_PREFIX = 'group-snapshot-'
# Marks (in the undo list only) a template made from the instance's point.
FROM_POINT = '_from_point'


def _consistent(group_or_snapshot):
    return volume_utils.is_group_a_cg_snapshot_type(group_or_snapshot)


def _instances_of(volume):
    """Instance UUIDs the volume is attached to."""
    return sorted({a.instance_uuid
                   for a in (volume.volume_attachment or [])
                   if a.instance_uuid})


class GroupMixin(object):
    """Group behaviour of ``VMwareVcVmdkExtDriver``."""

    # -- groups: no vCenter object; generic otherwise -------------------------

    def create_group(self, context, group):
        if not _consistent(group):
            raise NotImplementedError()
        LOG.info("Created consistent group %s (nothing in vCenter).",
                 group.id)
        return {'status': fields.GroupStatus.AVAILABLE}

    def delete_group(self, context, group, volumes):
        # Cinder's generic delete: each volume through delete_volume.
        raise NotImplementedError()

    def update_group(self, context, group, add_volumes=None,
                     remove_volumes=None):
        # Membership is Cinder's only; nothing changes in vCenter.
        raise NotImplementedError()

    def create_group_from_src(self, context, group, volumes,
                              group_snapshot=None, snapshots=None,
                              source_group=None, source_vols=None):
        # Cinder's generic flow: create_volume_from_snapshot (or
        # create_cloned_volume) per volume, each placed in its pool.
        raise NotImplementedError()

    def delete_group_snapshot(self, context, group_snapshot, snapshots):
        # Each snapshot through delete_snapshot (template or COW).
        raise NotImplementedError()

    # -- consistent group snapshots -------------------------------------------

    def create_group_snapshot(self, context, group_snapshot, snapshots):
        if not _consistent(group_snapshot):
            raise NotImplementedError()
        attached, still = self._group_snapshot_plan(group_snapshot, snapshots)
        made = []  # (snapshot, update) in the order made, for the undo
        try:
            if attached:
                instance_uuid, members = attached
                self._snapshot_attached(group_snapshot, instance_uuid,
                                        members, made)
            for snapshot in still:
                made.append((snapshot, self.create_snapshot(snapshot) or {}))
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error("Group snapshot %(gs)s failed; deleting the %(n)d "
                          "snapshot(s) it made.",
                          {'gs': group_snapshot.id, 'n': len(made)})
                self._undo_group_snapshot(made)
        updates = []
        for snapshot, update in made:
            update = dict(update, id=snapshot.id,
                          status=fields.SnapshotStatus.AVAILABLE)
            update.pop(FROM_POINT, None)
            updates.append(update)
        LOG.info("Created consistent group snapshot %(gs)s: %(n)d "
                 "snapshot(s), %(att)d of them frozen together on one "
                 "instance VM.",
                 {'gs': group_snapshot.id, 'n': len(updates),
                  'att': len(attached[1]) if attached else 0})
        return {'status': fields.GroupSnapshotStatus.AVAILABLE}, updates

    def _group_snapshot_plan(self, group_snapshot, snapshots):
        """Plan a group snapshot: one instance snapshot and still volumes.

        ((instance uuid, [snapshot]) or None, [snapshot of a still
        volume]); refuses what one instance snapshot cannot freeze.
        """
        by_instance, still = {}, []
        for snapshot in snapshots:
            instances = _instances_of(snapshot.volume)
            if not instances:
                still.append(snapshot)
                continue
            for uuid in instances:
                by_instance.setdefault(uuid, []).append(snapshot)
        if len(by_instance) > 1:
            self._refuse_group_snapshot(
                group_snapshot,
                _("its volumes are attached to %(n)d instances (%(uuids)s); "
                  "one consistent snapshot freezes the volumes of one "
                  "instance VM: group the volumes of each instance "
                  "separately, or detach them") %
                {'n': len(by_instance),
                 'uuids': ', '.join(sorted(by_instance))})
        attached = next(iter(by_instance.items()), None)
        return attached, still

    @staticmethod
    def _refuse_group_snapshot(group_snapshot, reason):
        msg = (_("Consistent group snapshot %(gs)s is not possible: "
                 "%(why)s.") % {'gs': group_snapshot.id, 'why': reason})
        LOG.error(msg)
        raise exception.InvalidGroupSnapshot(reason=msg)

    def _snapshot_attached(self, group_snapshot, instance_uuid, members,
                           made):
        """Snapshot attached volumes through one instance VM snapshot.

        One snapshot of the instance VM, then each member's frozen disk
        copied into its template snapshot; the instance's snapshot is
        removed in all cases.
        """
        instance = self.volumeops.get_backing_by_uuid(instance_uuid)
        if instance is None:
            self._refuse_group_snapshot(
                group_snapshot, _("instance VM %s is not in vCenter")
                % instance_uuid)
        files = {}
        for snapshot in members:
            volume = snapshot.volume
            backing = self.volumeops.get_backing(volume.name, volume.id)
            if backing is None:
                self._refuse_group_snapshot(
                    group_snapshot, _("attached volume %s has no backing VM")
                    % volume.id)
            files[snapshot.id] = (backing,
                                  self._disk_of(backing).backing.fileName)
        name = POINT_PREFIX + group_snapshot.id
        description = 'Cinder group snapshot %s' % group_snapshot.id
        try:
            point = self.volumeops.create_snapshot(
                instance, name, description,
                quiesce=self.configuration.safe_get(
                    'vmware_group_snapshot_quiesce') or False)
        except Exception:
            with excutils.save_and_reraise_exception():
                # vCenter may have taken it and the answer be lost.
                self._remove_temp_snapshot(instance, None, name)
        try:
            keys = group_snapshots.frozen_keys(
                self.session, point, {f for _b, f in files.values()})
            uuids = group_snapshots.device_uuids(self.session, instance)
            for snapshot in members:
                backing, path = files[snapshot.id]
                if path not in keys:
                    raise exception.InvalidGroupSnapshot(reason=_(
                        "The disk %(path)s of volume %(vol)s is not attached "
                        "to instance VM %(vm)s.") % {
                            'path': path, 'vol': snapshot.volume.id,
                            'vm': instance_uuid})
                self._template_from_point(snapshot, backing, instance,
                                          point, uuids[keys[path]], made)
        finally:
            self._remove_temp_snapshot(instance, point, name)

    def _template_from_point(self, snapshot, backing, instance, point,
                             device_uuid, made):
        """Copy one frozen disk of an instance snapshot into a template.

        A full copy of one frozen disk of the instance's snapshot point
        in a template VM, where the volume's template snapshots live.
        """
        volume = snapshot.volume
        if self._snapshot_format(volume) != 'template':
            LOG.info("Attached volume %(vol)s has snapshot format COW; its "
                     "snapshot %(snap)s in group snapshot %(gs)s is a "
                     "template (a COW snapshot cannot freeze a disk the "
                     "instance writes).",
                     {'vol': volume.id, 'snap': snapshot.id,
                      'gs': snapshot.group_snapshot_id})
        folder = self._get_snapshot_group_folder(volume, backing)
        template = self.volumeops.clone_backing(
            snapshot.name, instance, point, volumeops.FULL_CLONE_TYPE,
            self.volumeops.get_datastore(backing), folder=folder,
            disks_to_clone=[device_uuid])
        update = {'provider_id': vim_util.get_moref_value(template),
                  'metadata': self._with_depth(snapshot, 0),
                  FROM_POINT: True}
        made.append((snapshot, update))
        self.volumeops.mark_backing_as_template(template)
        update['provider_location'] = self.volumeops.get_inventory_path(
            template)

    def _undo_group_snapshot(self, made):
        for snapshot, update in reversed(made):
            try:
                if snapshot.id in self._group_templates(made):
                    # Ours from the instance's point: marked or not.
                    self.volumeops.delete_backing(vim_util.get_moref(
                        update['provider_id'], 'VirtualMachine'))
                    continue
                done = snapshot.obj_clone()
                done.update({k: v for k, v in update.items()
                             if k in ('provider_location', 'provider_id')})
                self.delete_snapshot(done)
            except Exception:  # noqa: undo the rest, keep the first error
                LOG.exception("Could not delete snapshot %s made by the "
                              "failed group snapshot; delete it in vCenter.",
                              snapshot.id)

    @staticmethod
    def _group_templates(made):
        return {snapshot.id for snapshot, update in made
                if update.get(FROM_POINT)}
