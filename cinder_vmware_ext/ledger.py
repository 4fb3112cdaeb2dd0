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
"""The promise ledger, shared by every service of this driver on a vCenter.

Promises (``core/promises.py``) live on the volumes' own rows in Cinder's
database, which every cinder-volume service shares; "read the promises,
choose a datastore, record the promise" runs under one distributed lock
per vCenter, taken through Cinder's own coordination layer
(``cinder.coordination``: tooz, ``[coordination] backend_url``, e.g. etcd).
Nothing is kept in memory: the rows are the ledger.

A promise counts while its volume is not deleted and its status is not an
error; it is cleared when the backing lands.
"""

import sqlalchemy as sa

from cinder import context as cinder_context
from cinder.db import api as db_api
from cinder.db import models
from oslo_config import cfg
from oslo_log import log as logging

from cinder_vmware_ext.core import promises as core_promises
from cinder_vmware_ext import locks

LOG = logging.getLogger(__name__)

LOCK_PREFIX = 'vmware-ext-placement-'


def _vcenter_key(vcenter_id):
    # A promise location and a lock name hold it: no ':' (an IPv6 address
    # stands in when vCenter reports no instance UUID), ASCII only.
    return ''.join(c if c.isalnum() or c in '-._' else '_'
                   for c in str(vcenter_id)) or 'vcenter'


class PromiseLedger(object):
    """Promises of one vCenter on Cinder's volume rows."""

    def __init__(self, vcenter_id):
        self.vcenter = _vcenter_key(vcenter_id)
        self._prefix = core_promises.location_prefix(self.vcenter)
        self.lock_name = LOCK_PREFIX + self.vcenter

    # -- the lock -------------------------------------------------------------

    def distributed_lock(self):
        """The vCenter's placement lock in the coordination backend."""
        return locks.coordinator_lock(self.lock_name)

    def lock(self):
        """Hold the vCenter's placement lock, across every service."""
        return locks.across_services(self.lock_name)

    # -- reads ---------------------------------------------------------------

    def _live(self, query, *where):
        vol = models.Volume
        query = query.where(
            vol.deleted == sa.false(),
            vol.provider_location.startswith(self._prefix, autoescape=True),
            sa.or_(vol.status.is_(None), sa.not_(vol.status.like('error%'))),
            *where)
        ctx = cinder_context.get_admin_context()
        with db_api.main_context_manager.reader.using(ctx) as session:
            return session.execute(query).all()

    def _rows(self, *where):
        vol = models.Volume
        return self._live(
            sa.select(vol.id, vol._name_id, vol.provider_location), *where)

    def totals(self, exclude=None):
        """Return every live promise on this vCenter with its holders.

        [(Promise, how many volumes hold it)] of every live promise on
        this vCenter (but ``exclude``'s volume).

        Volumes promised the same size on the same datastore share one
        location value: the database sums them, one row each.
        """
        vol = models.Volume
        where = [vol.id != exclude] if exclude else []
        query = sa.select(vol.provider_location, sa.func.count()).group_by(
            vol.provider_location)
        found = []
        for location, count in self._live(query, *where):
            promise = core_promises.parse(location)
            if promise is not None and promise.vcenter == self.vcenter:
                found.append((promise, count))
        return found

    def promises(self, named=False):
        """{volume id: Promise} of every live promise on this vCenter.

        With ``named``, {volume id: (backing name, Promise)}.
        """
        template = cfg.CONF.volume_name_template
        found = {}
        for vol_id, name_id, location in self._rows():
            promise = core_promises.parse(location)
            if promise is None or promise.vcenter != self.vcenter:
                continue
            found[vol_id] = ((template % (name_id or vol_id), promise)
                             if named else promise)
        return found

    def promise_of(self, volume_id):
        rows = self._rows(models.Volume.id == volume_id)
        return core_promises.parse(rows[0][2]) if rows else None

    def volume_names(self):
        """{volume id: backing name} of the volumes holding promises."""
        template = cfg.CONF.volume_name_template
        return {vol_id: template % (name_id or vol_id)
                for vol_id, name_id, _loc in self._rows()}

    # -- writes --------------------------------------------------------------

    def promise(self, datastore_ref, size_bytes, kind=core_promises.THICK,
                landing=False):
        return core_promises.Promise(self.vcenter, datastore_ref,
                                     int(size_bytes), kind, landing)

    def record(self, volume_id, promise):
        """Write ``promise`` on the volume's row.

        Only a row holding no provider_location or a promise is written:
        a value some other code put there is never overwritten.  Returns
        whether the promise was recorded.
        """
        vol = models.Volume
        done = self._update(
            sa.and_(vol.id == volume_id,
                    sa.or_(vol.provider_location.is_(None),
                           vol.provider_location.startswith(
                               core_promises.PREFIX + ':', autoescape=True))),
            promise.location())
        if not done:
            LOG.warning('Volume %s has a provider_location of its own: its '
                        'promised space (%d bytes on datastore %s) is not '
                        'recorded.', volume_id, promise.size_bytes,
                        promise.datastore)
        return done

    def replace(self, volume_id, current, promise):
        """``current`` becomes ``promise`` (None clears), if still there."""
        vol = models.Volume
        return self._update(
            sa.and_(vol.id == volume_id,
                    vol.provider_location == current.location()),
            promise.location() if promise else None)

    def clear(self, volume_id, promise):
        """Release ``promise`` if the row still holds it."""
        return self.replace(volume_id, promise, None)

    def _update(self, where, location):
        ctx = cinder_context.get_admin_context()
        query = sa.update(models.Volume).where(where).values(
            provider_location=location).execution_options(
            synchronize_session=False)
        with db_api.main_context_manager.writer.using(ctx) as session:
            return session.execute(query).rowcount > 0

    def settle(self, backing_names):
        """Release the promises of volumes whose backing exists.

        Run at start-up (``backing_names()`` answers every VM name in
        vCenter, asked only when there are promises): a service that died
        between "backing made" and "promise released" leaves no promise
        behind.  Returns how many were released.
        """
        released = 0
        current = self.promises()
        if not current:
            return 0
        names = backing_names()
        for vol_id, name in self.volume_names().items():
            promise = current.get(vol_id)
            if promise is not None and name in names:
                released += self.clear(vol_id, promise)
        if released:
            LOG.info('Released %d promise(s) of volumes whose backing '
                     'exists in vCenter.', released)
        return released
