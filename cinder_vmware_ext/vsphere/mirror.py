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
"""A retrieve() answer kept current by a change feed, for repeated reads.

Each takeover manage reads every VM's devices and configuration (is the
disk some VM's, some volume's?), two or three times; a pass over the
whole inventory each time makes a manage's cost grow with the estate and
an import of N disks cost N passes over N VMs.  ``ObjectMirror`` reads
the objects once, through a private PropertyCollector filter over the
same properties, and then applies what ``WaitForUpdatesEx`` (no wait)
reports changed since, converted as ``bulk_soap.retrieve`` converts its
objects (``to_data``): one round trip that carries only the changes.

``objects()`` answers as ``bulk_soap.retrieve`` does: {moref value:
(moref, {property: value})}.  The answer is never modified afterwards
(each update makes a new dict and new property dicts), so a caller may
keep it.  After a fault of the feed, and past ``max_age`` seconds, the
mirror starts again from a whole read.
"""

import threading
import time

from oslo_log import log as logging
from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import bulk_soap
from cinder_vmware_ext.vsphere import view_spec

LOG = logging.getLogger(__name__)

_V = '{%s}' % bulk_soap.VIM
_REMOVE = ('remove', 'indirectRemove')


class ObjectMirror(object):
    """The properties of every object of some types, as vCenter has them."""

    def __init__(self, session, properties, max_age=None,
                 clock=time.monotonic):
        """:param properties: {managed object type: [property paths]}

        :param max_age: seconds after which the mirror reads everything
                        again (None: never; 0: on every call)
        """
        self.session = session
        self._properties = properties
        self._max_age = max_age
        self._clock = clock
        self._reader = bulk_soap.BulkReader(session)
        self._lock = threading.Lock()
        self._collector = None
        self._view = None
        self._version = None
        self._started = None
        self._objects = {}

    def objects(self):
        """{moref value: (moref, {property: value})}, as of now."""
        with self._lock:
            if self._collector is not None and \
                    self._max_age is not None and \
                    self._clock() - self._started >= self._max_age:
                self._stop()
            try:
                self._pull()
            except (vexc.VimFaultException, vexc.VimConnectionException,
                    vexc.NotAuthenticatedException) as err:
                # The collector may be gone (vCenter restarted, the session
                # ended): start again from a whole read, once.
                LOG.info('Restarting a vCenter object mirror after: %s', err)
                self._stop()
                self._pull()
            return self._objects

    def close(self):
        with self._lock:
            self._stop()

    # -- internals ----------------------------------------------------------

    def _stop(self):
        view_spec.close_collector(self.session, self._collector, self._view)
        self._collector = self._view = None
        self._objects = {}

    def _start(self):
        self._collector, self._view = view_spec.open_collector(
            self.session, self._properties)
        self._version = ''
        self._started = self._clock()

    def _pull(self):
        if self._collector is None:
            self._start()
        objects = None
        while True:
            updates = []
            version, truncated = self._reader.updates(
                self._collector, self._version,
                lambda update: updates.append(_update(update)))
            if version is None:
                break
            if objects is None:
                objects = dict(self._objects)
            for kind, ref, changes in updates:
                _apply(objects, kind, ref, changes)
            self._version = version
            if not truncated:
                break
        if objects is not None:
            self._objects = objects


def _update(element):
    """(kind, moref, [(op, property, value)]) of one ObjectUpdate."""
    obj = element.find(_V + 'obj')
    changes = []
    for change in element.iterfind(_V + 'changeSet'):
        val = change.find(_V + 'val')
        changes.append((change.findtext(_V + 'op'),
                        change.findtext(_V + 'name'),
                        None if val is None else bulk_soap.to_data(val)))
    return (element.findtext(_V + 'kind'),
            vim_util.get_moref(obj.text, obj.get('type')), changes)


def _apply(objects, kind, ref, changes):
    value = vim_util.get_moref_value(ref)
    if kind == 'leave':
        objects.pop(value, None)
        return
    old = objects.get(value)
    props = dict(old[1]) if old is not None and kind != 'enter' else {}
    for op, name, val in changes:
        if op in _REMOVE or val is None:
            props.pop(name, None)
        else:
            props[name] = val
    objects[value] = (ref, props)
