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
"""The driver side of Cinder's cleanup of a dead service's work.

A linked clone of a volume takes three steps on vCenter: a temporary
snapshot ``temp-snapshot-<new volume id>`` of the source's backing, the
clone over it, and the snapshot's removal.  A cinder-volume service that
dies between the first and the last leaves the snapshot on the source (its
disk then stays a delta for good) and maybe a finished or half-made clone.
Cinder's own cleanup (``cinder work-cleanup``, or the service's start-up)
only sets the volume it was creating to ``error``
(cinder/volume/manager.py ``_do_cleanup``); it calls no driver method.

So every service of the backend (of its cluster, when clustered) rolls the
rest back when it next looks: at start-up, at each stats refresh and before
each create or delete, it asks Cinder's database for clones that went to
``error`` since it last asked (one query), and for each whose temporary
snapshot is still on its source removes the clone's backing, then the
snapshot.  A volume still ``creating`` is left alone (some service is
making it), and so is the source: only the snapshot this create made goes.
Deleting the ``error`` volume does the same at once.
"""

import datetime
import threading

from cinder import context as cinder_context
from cinder import exception
from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_vmware import exceptions as vexc

LOG = logging.getLogger(__name__)

TEMP_SNAPSHOT = 'temp-snapshot-%s'
# Clones whose update came this long before the last look are looked at
# again: the clocks of the services and the database need not agree.
CLOCK_SLACK = datetime.timedelta(seconds=120)


class CleanupMixin(object):
    """Rolls back the linked clones a dead service left half done."""

    def __init__(self, *args, **kwargs):
        super(CleanupMixin, self).__init__(*args, **kwargs)
        self._cleanup_lock = threading.Lock()
        self._cleanup_since = None
        self._cleanup_seen = set()

    # -- hooks ----------------------------------------------------------------

    def do_setup(self, context):
        super(CleanupMixin, self).do_setup(context)
        self.roll_back_abandoned_clones()

    def create_volume(self, volume):
        self.roll_back_abandoned_clones()
        return super(CleanupMixin, self).create_volume(volume)

    def create_cloned_volume(self, volume, src_vref):
        self.roll_back_abandoned_clones()
        return super(CleanupMixin, self).create_cloned_volume(volume,
                                                              src_vref)

    def get_volume_stats(self, refresh=False):
        if refresh:
            self.roll_back_abandoned_clones()
        return super(CleanupMixin, self).get_volume_stats(refresh)

    def delete_volume(self, volume):
        super(CleanupMixin, self).delete_volume(volume)
        # The backing went first: a clone never outlives its snapshot.
        if volume.get('source_volid'):
            self._remove_temp_snapshot_of(volume)

    # -- the roll-back --------------------------------------------------------

    def roll_back_abandoned_clones(self):
        """Roll back this backend's abandoned clones.

        Roll back each clone of this backend that went to ``error``
        with its temporary snapshot still on its source.  Never raises: a
        failure is logged and the clone looked at again next time.
        """
        if not self._cleanup_lock.acquire(blocking=False):
            return  # another thread of this service is at it
        try:
            started = timeutils.utcnow()
            for volume in self._errored_clones(self._cleanup_since):
                if volume.id not in self._cleanup_seen:
                    self._roll_back_clone(volume)
            self._cleanup_since = started
        except Exception:  # noqa: B902 - the create must not fail for it
            LOG.warning("Looking for linked clones left half done by a dead "
                        "service failed; trying again at the next create or "
                        "stats refresh.", exc_info=True)
        finally:
            self._cleanup_lock.release()

    def _errored_clones(self, since):
        ctxt = cinder_context.get_admin_context()
        filters = {'status': 'error'}
        if self.cluster_name:
            filters['cluster_name'] = self.cluster_name
        else:
            filters['host'] = self.host
        if since is not None:
            filters['updated_at'] = {'gt': since - CLOCK_SLACK}
        return [v for v in self.db.volume_get_all(ctxt, filters=filters)
                if v.source_volid]

    def _roll_back_clone(self, volume):
        source_backing, snapshot = self._temp_snapshot_of(volume)
        if snapshot is None:
            self._cleanup_seen.add(volume.id)
            return
        LOG.warning("Volume %(vol)s went to error in the middle of a linked "
                    "clone of volume %(src)s (its service died): removing "
                    "the clone's backing and the temporary snapshot "
                    "%(snap)s.", {'vol': volume.id,
                                  'src': volume.source_volid,
                                  'snap': TEMP_SNAPSHOT % volume.id})
        clone = self.volumeops.get_backing(volume.name, volume.id)
        if clone is not None:
            self.volumeops.delete_backing(clone)
        self._delete_snapshot(source_backing, volume)
        self._cleanup_seen.add(volume.id)

    def _remove_temp_snapshot_of(self, volume):
        source_backing, snapshot = self._temp_snapshot_of(volume)
        if snapshot is not None:
            LOG.info("Removing the temporary snapshot %(snap)s a linked "
                     "clone left on the backing of volume %(src)s.",
                     {'snap': TEMP_SNAPSHOT % volume.id,
                      'src': volume.source_volid})
            self._delete_snapshot(source_backing, volume)

    def _temp_snapshot_of(self, volume):
        """Return a clone's source backing and temporary snapshot.

        (source backing, temporary snapshot) of a clone, (None, None)
        when either is gone.
        """
        source_id = volume.source_volid
        source_backing = self.volumeops.get_backing('volume-%s' % source_id,
                                                    source_id)
        if source_backing is None:
            return None, None
        snapshot = self.volumeops.get_snapshot(source_backing,
                                               TEMP_SNAPSHOT % volume.id)
        return source_backing, snapshot

    def _delete_snapshot(self, source_backing, volume):
        try:
            self.volumeops.delete_snapshot(source_backing,
                                           TEMP_SNAPSHOT % volume.id)
        except vexc.ManagedObjectNotFoundException:
            pass  # a peer removed it first
        except vexc.VimException as err:
            raise exception.VolumeBackendAPIException(
                data="Could not remove the temporary snapshot %s from the "
                     "backing of volume %s (%s); remove it in vCenter." % (
                         TEMP_SNAPSHOT % volume.id, volume.source_volid,
                         err))
