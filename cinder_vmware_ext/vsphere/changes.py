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
"""Which objects changed: a PropertyCollector change feed without values.

The takeover's listing cache asks, before it reuses a listing, whether any
VM (or folder, or datacenter) changed since.  A private collector with one
filter over the inventory's objects of the given types answers that in one
``WaitForUpdatesEx`` (no wait) per question; only the references of the
objects that changed are read from the reply (lxml, no suds), never their
values.  The inventory cache (``inventory``) keeps datastores, hosts and
clusters; this feed is for what it does not watch.
"""

from oslo_log import log as logging
from oslo_vmware import exceptions as vexc

from cinder_vmware_ext.vsphere import bulk_soap
from cinder_vmware_ext.vsphere import view_spec

LOG = logging.getLogger(__name__)

_V = '{%s}' % bulk_soap.VIM


class ChangeFeed(object):
    """The references of objects of some types changed since the last poll."""

    def __init__(self, session, properties):
        self._session = session
        self._properties = properties
        self._reader = bulk_soap.BulkReader(session)
        self._collector = None
        self._version = None
        self.round_trips = 0

    def poll(self):
        """Return the objects changed since the last poll.

        {(type, moref value)} changed (entered, modified or left) since
        the last poll; None on the first poll and after the feed had to be
        started again (anything may have changed).
        """
        try:
            if self._collector is None:
                self._start()
                self._drain()
                return None
            return self._drain()
        except (vexc.VimFaultException, vexc.VimConnectionException,
                vexc.NotAuthenticatedException) as err:
            LOG.info('Restarting a vCenter change feed after: %s', err)
            self._collector = None
            return None

    def close(self):
        view_spec.close_collector(self._session, self._collector)
        self._collector = None

    def _start(self):
        self._collector, _view = view_spec.open_collector(
            self._session, self._properties)
        self._version = ''

    def _drain(self):
        changed = set()

        def object_update(update):
            # Handed over (and then emptied) as each one is parsed: the
            # first reply holds every object, it is never kept whole.
            obj = update.find(_V + 'obj')
            if obj is not None:
                changed.add((obj.get('type'), obj.text))

        while True:
            self.round_trips += 1
            version, truncated = self._reader.updates(
                self._collector, self._version, object_update)
            if version is None:
                return changed
            self._version = version
            if not truncated:
                return changed
