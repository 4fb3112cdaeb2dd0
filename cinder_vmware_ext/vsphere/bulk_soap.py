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
"""Bulk PropertyCollector replies, parsed without suds.

suds unmarshals every element of a reply into Python objects, checking the
schema as it goes; for a ``WaitForUpdatesEx`` over thousands of datastores
each mounted on dozens of hosts that costs tens of seconds and most of the
client's memory.  The replies are plain: object references and a few
scalars per property.  Here the request is sent on the oslo.vmware
session's own HTTPS connection (same cookie, same certificate checks) and
the reply is parsed as it streams in by lxml (libxml2), which hands over
one ``objectSet`` at a time; only those become plain dicts and lists.

Datastore host mounts (``Datastore.host``) are most of a large inventory's
reply (datastores x hosts, over 60 MB at 1,000 datastores on 256 hosts):
they are read with compiled XPath expressions, in C, into a compact
``model.HostMounts``, and only mounts that are not plain (read-only,
unmounted or inaccessible) are looked at one by one.
"""

import time
from xml.sax import saxutils

from lxml import etree
from oslo_log import log as logging
from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util
import requests

from cinder_vmware_ext.core import model

LOG = logging.getLogger(__name__)

# Seconds before the one retry of a request whose connection dropped.
RETRY_DELAY = 0.5

SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
VIM = 'urn:vim25'
XSI = 'http://www.w3.org/2001/XMLSchema-instance'
_XSI_TYPE = '{%s}type' % XSI

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="%s" xmlns="%s">'
    '<soapenv:Body>%%s</soapenv:Body></soapenv:Envelope>' % (SOAP_ENV, VIM))


def _local(tag):
    return tag.rsplit('}', 1)[-1]


def moref(type_, value):
    return '<_this type="%s">%s</_this>' % (
        saxutils.escape(type_), saxutils.escape(value))


def to_python(element):
    """A reply element as plain Python.

    A managed object reference becomes ``(type, value)``; an ``ArrayOf...``
    value a list; a data object a dict (a child that repeats becomes a
    list, use ``as_list`` where a field may hold one or many); anything
    else its text.
    """
    children = list(element)
    if element.get('type') is not None and not children:
        return (element.get('type'), element.text or '')
    if element.get(_XSI_TYPE, '').split(':')[-1].startswith('ArrayOf'):
        return [to_python(child) for child in children]
    if not children:
        return element.text or ''
    result = {}
    for child in children:
        name = _local(child.tag)
        value = to_python(child)
        if name not in result:
            result[name] = value
        elif isinstance(result[name], _Repeated):
            result[name].append(value)
        else:
            result[name] = _Repeated([result[name], value])
    return result


_NS = {'v': VIM}
_MOUNT_KEYS = etree.XPath('v:DatastoreHostMount/v:key/text()',
                          namespaces=_NS, smart_strings=False)
# A cheap test on the element's whole text that no mount can be other
# than plain (HostMountMode is readWrite or readOnly): a path that happens
# to contain these words only costs the exact test below.
_MAYBE_ODD = etree.XPath("contains(., 'false') or contains(., 'readOnly')")
# The same tests as HostMount.writable and .mounted: a missing accessMode
# is read-write, a missing mounted or accessible is true.
_ODD_MOUNTS = etree.XPath(
    "v:DatastoreHostMount[v:mountInfo[v:accessMode != 'readWrite' or "
    "v:mounted = 'false' or v:accessible = 'false']]", namespaces=_NS)


def host_mounts(element):
    """An ``ArrayOfDatastoreHostMount`` element as a model.HostMounts.

    Datastore.host is by far the largest part of an inventory read
    (datastores x hosts): the host keys come from one XPath call and only
    the mounts that are not plain are converted one by one.
    """
    odd = [host_mount(to_python(mount))
           for mount in (_ODD_MOUNTS(element) if _MAYBE_ODD(element) else ())]
    return model.HostMounts(_MOUNT_KEYS(element), {m.host: m for m in odd})


def host_mount(mount):
    """One DatastoreHostMount, as to_python() gives it, as a HostMount."""
    info = mount.get('mountInfo') or {}
    key = mount.get('key')
    return model.HostMount(
        host=key[1] if isinstance(key, tuple) else key,
        mounted=info.get('mounted') != 'false',
        accessible=info.get('accessible') != 'false',
        access_mode=info.get('accessMode') or 'readWrite')


class _Repeated(list):
    """A list made of a data object's repeated child elements."""


def as_list(value):
    """``value`` as a list, whether one element or many came back."""
    if value is None or value == '':
        return []
    return list(value) if isinstance(value, list) else [value]


_OBJECT_SET = '{%s}objectSet' % VIM
_OBJECTS = '{%s}objects' % VIM
_BODY = '{%s}Body' % SOAP_ENV
_CHUNK = 256 * 1024


class _Chunks(object):
    """A streamed HTTP body as a file lxml can read, counting its bytes."""

    def __init__(self, response):
        self._chunks = response.iter_content(_CHUNK)
        self.count = 0

    def read(self, size=-1):
        chunk = next(self._chunks, b'')
        self.count += len(chunk)
        return chunk


class BulkReader(object):
    """Sends PropertyCollector calls whose replies may be large."""

    def __init__(self, session):
        self._session = session
        self.bytes_received = 0

    def post(self, body, on_object_set=None, tag=_OBJECT_SET):
        """POST a request; returns the reply's body element.

        The reply is parsed while it is received.  With ``on_object_set``,
        each ``objectSet`` element is handed to it as soon as it is parsed
        and then emptied, so a large reply is never held as a whole tree.

        Only idempotent requests come here (reads, datastore searches):
        after NotAuthenticated the session logs in again and the request is
        sent once more; after a dropped connection it is sent once more
        after RETRY_DELAY seconds.  A second failure is raised.
        """
        relogged = retried = False
        while True:
            try:
                return self._post_once(body, on_object_set, tag)
            except vexc.NotAuthenticatedException:
                if relogged:
                    raise
                relogged = True
                LOG.info('vCenter session ended; logging in again for a '
                         'raw SOAP request.')
                self._relogin()
            except vexc.VimConnectionException as err:
                if retried:
                    raise
                retried = True
                LOG.warning('Raw SOAP request to vCenter failed (%s); '
                            'retrying once in %.1f s.', err, RETRY_DELAY)
                time.sleep(RETRY_DELAY)

    def _relogin(self):
        # As oslo.vmware does on NotAuthenticated: a new session unless
        # another thread made one already.
        if not self._session.is_current_session_active():
            self._session._create_session()

    def _post_once(self, body, on_object_set=None, tag=_OBJECT_SET):
        try:
            return self._send(body, on_object_set, tag)
        except requests.RequestException as err:
            # A dropped connection, also halfway through a reply: the
            # caller rebuilds as after any other connection failure.
            raise vexc.VimConnectionException(
                'Lost the connection to vCenter: %s' % err, err)

    def _send(self, body, on_object_set, tag):
        vim = self._session.vim
        transport = vim.client.options.transport
        resp = transport.session.post(
            vim.soap_url, data=(_ENVELOPE % body).encode('utf-8'),
            headers={'Content-Type': 'text/xml; charset=utf-8',
                     'SOAPAction': '"urn:vim25/7.0"'},
            verify=transport.verify, timeout=transport._connection_timeout,
            stream=True)
        try:
            # SOAP faults come with HTTP 500; anything else is not SOAP.
            if resp.status_code not in (200, 500):
                raise vexc.VimConnectionException(
                    'vCenter answered HTTP %s' % resp.status_code)
            stream = _Chunks(resp)
            body_el = None
            try:
                for _event, element in etree.iterparse(
                        stream, events=('end',), tag=(tag, _BODY),
                        huge_tree=True, resolve_entities=False,
                        no_network=True):
                    if element.tag == _BODY:
                        body_el = element
                    elif on_object_set is not None:
                        on_object_set(element)
                        element.clear()
            except etree.XMLSyntaxError as err:
                raise vexc.VimConnectionException(
                    'vCenter sent a reply that is not valid XML (HTTP %s): '
                    '%s' % (resp.status_code, err))
            self.bytes_received = stream.count
        finally:
            resp.close()
        if body_el is None or not len(body_el):
            raise vexc.VimConnectionException(
                'vCenter sent a SOAP reply without a body (HTTP %s)'
                % resp.status_code)
        fault = body_el.find('{%s}Fault' % SOAP_ENV)
        if fault is not None:
            raise self._fault(fault)
        if resp.status_code != 200:
            raise vexc.VimConnectionException(
                'vCenter answered HTTP %s' % resp.status_code)
        return body_el[0]

    @staticmethod
    def _fault(fault):
        message = fault.findtext('faultstring') or 'vCenter fault'
        detail = fault.find('detail')
        names = []
        if detail is not None and len(detail):
            name = detail[0].get(_XSI_TYPE, '').split(':')[-1]
            names = [name or _local(detail[0].tag)[:-len('Fault')]]
        if 'NotAuthenticated' in names:
            return vexc.NotAuthenticatedException(message)
        return vexc.VimFaultException(names, message)

    def wait_for_updates(self, collector, version, on_update,
                         max_wait_seconds=0, max_object_updates=None):
        """WaitForUpdatesEx on ``collector`` since ``version``.

        Calls ``on_update(kind, (type, value), [(op, path, value), ...])``
        for every object update and returns ``(new_version, truncated)``;
        new_version is None when nothing changed.
        """
        options = '<maxWaitSeconds>%d</maxWaitSeconds>' % max_wait_seconds
        if max_object_updates:
            options += ('<maxObjectUpdates>%d</maxObjectUpdates>'
                        % max_object_updates)

        def object_update(ou):
            obj = ou.find('{%s}obj' % VIM)
            changes = []
            for change in ou.findall('{%s}changeSet' % VIM):
                val = change.find('{%s}val' % VIM)
                if val is None:
                    value = None
                elif val.get(_XSI_TYPE, '').endswith(
                        'ArrayOfDatastoreHostMount'):
                    value = host_mounts(val)
                else:
                    value = to_python(val)
                changes.append((change.findtext('{%s}op' % VIM),
                                change.findtext('{%s}name' % VIM), value))
            on_update(ou.findtext('{%s}kind' % VIM),
                      (obj.get('type'), obj.text), changes)

        return self.updates(collector, version, object_update, options)

    def updates(self, collector, version, on_object_update,
                options='<maxWaitSeconds>0</maxWaitSeconds>'):
        """One WaitForUpdatesEx; each ObjectUpdate element to the callback.

        Returns ``(new_version, truncated)``; new_version is None when
        nothing changed.
        """
        reply = self.post(
            '<WaitForUpdatesEx>%s<version>%s</version>'
            '<options>%s</options></WaitForUpdatesEx>'
            % (moref('PropertyCollector', collector),
               saxutils.escape(version or ''), options), on_object_update)
        update_set = reply.find('{%s}returnval' % VIM)
        if update_set is None:
            return None, False
        truncated = update_set.findtext('{%s}truncated' % VIM) == 'true'
        return update_set.findtext('{%s}version' % VIM), truncated


# -- a RetrievePropertiesEx pass as suds would answer it, without suds -------

# Leaves read as numbers or truth values where the schema says so (the
# reply names the types of anyType values only, so by field name).
_INT_FIELDS = frozenset(['key', 'controllerKey', 'unitNumber',
                         'capacityInKB', 'capacityInBytes', 'busNumber'])
_BOOL_FIELDS = frozenset(['thinProvisioned', 'template', 'eagerlyScrub',
                          'writeThrough', 'quiesced'])
# Fields that may repeat: always lists, as suds gives them.
_LIST_FIELDS = frozenset(['rootSnapshotList', 'childSnapshotList',
                          'device', 'diskExtents'])
_XSD_INT = frozenset(['int', 'long', 'short', 'byte'])
_classes = {}


class Data(object):
    """A data object of a reply; its class is named after its vSphere type.

    As suds's objects: attributes for the fields the reply holds, a class
    whose ``__name__`` is the type (``VirtualDisk``), lists for repeated
    fields.
    """

    def __repr__(self):
        return '%s(%s)' % (self.__class__.__name__, ', '.join(
            '%s=%r' % kv for kv in sorted(vars(self).items())))


def _data_class(name):
    cls = _classes.get(name)
    if cls is None:
        cls = _classes[name] = type(str(name), (Data,), {})
    return cls


def _leaf(text, xsi_type, field, parent_type):
    if xsi_type == 'boolean' or (field in _BOOL_FIELDS and not xsi_type):
        return text == 'true'
    if xsi_type in _XSD_INT or (field in _INT_FIELDS and not xsi_type and
                                parent_type != 'OptionValue'):
        try:
            return int(text)
        except ValueError:
            return text
    return text


def to_data(element, field=None, parent_type=None):
    """A reply element as suds would give it (a Data, list, moref, scalar).

    Managed object references become oslo.vmware morefs, ``ArrayOf...``
    values lists, data objects ``Data`` of their type, leaves strings,
    numbers or truth values.
    """
    kind = element.get(_XSI_TYPE, '').split(':')[-1]
    children = list(element)
    if element.get('type') is not None and not children:
        return vim_util.get_moref(element.text or '', element.get('type'))
    if kind.startswith('ArrayOf'):
        return [to_data(child, None, kind) for child in children]
    if not children:
        return _leaf(element.text or '', kind, field, parent_type)
    obj = _data_class(kind or _local(element.tag))()
    fields = obj.__dict__
    for child in children:
        name = _local(child.tag)
        value = to_data(child, name, kind)
        if name in fields:
            fields[name].append(value)
        elif name in _LIST_FIELDS:
            fields[name] = [value]
        else:
            fields[name] = value
    return obj


_RETRIEVE_PAGE = 500
_PROPERTY_SPEC = '<propSet><type>%s</type>%s</propSet>'
_RETRIEVE = (
    '<RetrievePropertiesEx>%%s<specSet>%%s<objectSet>'
    '<obj type="ContainerView">%%s</obj><skip>true</skip>'
    '<selectSet xmlns:xsi="%s" xsi:type="TraversalSpec"><name>view</name>'
    '<type>ContainerView</type><path>view</path><skip>false</skip>'
    '</selectSet></objectSet></specSet>'
    '<options><maxObjects>%d</maxObjects></options></RetrievePropertiesEx>'
    % (XSI, _RETRIEVE_PAGE))
_CONTINUE = ('<ContinueRetrievePropertiesEx>%s<token>%s</token>'
             '</ContinueRetrievePropertiesEx>')


def retrieve(session, properties):
    """{moref value: (moref, {property: value})} for the given types.

    What ``retrieve.retrieve`` answers, in the same one paged
    PropertyCollector pass over a ContainerView, but sent as raw SOAP and
    read with lxml as it streams in (``to_data``), each object converted
    as soon as it is parsed: for thousands of VMs with their devices suds
    costs seconds and most of the client's memory.

    :param properties: {managed object type: [property paths]}
    """
    vim = session.vim
    content = vim.service_content
    view = session.invoke_api(
        vim, 'CreateContainerView', content.viewManager,
        container=content.rootFolder, type=sorted(properties),
        recursive=True)
    reader = BulkReader(session)
    collector = moref('PropertyCollector',
                      vim_util.get_moref_value(content.propertyCollector))
    found = {}

    def one(objects):
        obj = objects.find('{%s}obj' % VIM)
        ref = vim_util.get_moref(obj.text, obj.get('type'))
        found[obj.text] = (ref, {
            prop.findtext('{%s}name' % VIM): to_data(
                prop.find('{%s}val' % VIM))
            for prop in objects.iterfind('{%s}propSet' % VIM)})

    specs = ''.join(
        _PROPERTY_SPEC % (saxutils.escape(type_), ''.join(
            '<pathSet>%s</pathSet>' % saxutils.escape(p) for p in paths))
        for type_, paths in sorted(properties.items()))
    try:
        reply = reader.post(_RETRIEVE % (
            collector, specs,
            saxutils.escape(vim_util.get_moref_value(view))), one, _OBJECTS)
        while True:
            token = reply.findtext('{%s}returnval/{%s}token' % (VIM, VIM))
            if not token:
                break
            reply = reader.post(_CONTINUE % (collector,
                                             saxutils.escape(token)),
                                one, _OBJECTS)
    finally:
        session.invoke_api(vim, 'DestroyView', view)
    return found
