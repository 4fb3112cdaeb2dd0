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
"""The drain mark: a custom attribute on the datastore.

``cinder-vmware datastore drain`` sets the attribute ``DRAIN_FIELD``
(CustomFieldsManager) on a datastore; every cinder-volume service's
inventory cache watches the attribute definitions and the datastores'
``customValue``, so every pool of every service stops placing there at its
next refresh.  An empty value is no mark (vCenter keeps a field once set;
undrain sets it empty).
"""

from oslo_utils import timeutils
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import faults

DRAIN_FIELD = 'cinder-vmware.drained'
MANAGER_TYPE = 'CustomFieldsManager'


def manager(session):
    """The CustomFieldsManager (None on an ESX host without vCenter)."""
    return getattr(session.vim.service_content, 'customFieldsManager', None)


def watch(session, filter_spec):
    """Add the attribute definitions (``field``) to an inventory filter."""
    fields = manager(session)
    if fields is None:
        return filter_spec
    factory = session.vim.client.factory
    object_spec = factory.create('ns0:ObjectSpec')
    object_spec.obj = fields
    object_spec.skip = False
    filter_spec.objectSet.append(object_spec)
    filter_spec.propSet.append(vim_util.build_property_spec(
        factory, type_=MANAGER_TYPE, properties_to_collect=['field']))
    return filter_spec


def drain_key(fields):
    """Return the drain field's key in a custom field value.

    The drain field's key (a string) in a CustomFieldsManager ``field``
    value as the bulk reader gives it (a list of dicts), or None.
    """
    for field in fields or []:
        if isinstance(field, dict) and field.get('name') == DRAIN_FIELD:
            return str(field.get('key'))
    return None


def mark_of(custom_values, key):
    """Return the drain mark's value of an entity.

    The drain mark's value among an entity's ``customValue`` (bulk
    reader form), '' when unmarked.
    """
    if key is None:
        return ''
    for value in custom_values or []:
        if isinstance(value, dict) and str(value.get('key')) == key:
            return value.get('value') or ''
    return ''


def _field_key(session, create):
    fields = manager(session)
    if fields is None:
        raise ValueError('this vCenter has no CustomFieldsManager (an ESX '
                         'host?): drain needs vCenter')
    defs = session.invoke_api(vim_util, 'get_object_property', session.vim,
                              fields, 'field')
    for field in getattr(defs, 'CustomFieldDef', None) or []:
        if field.name == DRAIN_FIELD:
            return field.key
    if not create:
        return None
    # A field of that name after an error (the retry refused as
    # DuplicateName) is the one vCenter made.
    return faults.unless_applied(
        lambda: session.invoke_api(session.vim, 'AddCustomFieldDef', fields,
                                   name=DRAIN_FIELD, moType='Datastore').key,
        lambda: _field_key(session, create=False),
        'Defining custom field %s' % DRAIN_FIELD)


def set_drained(session, datastore_ref, reason):
    """Mark the datastore drained (the value says who and when)."""
    key = _field_key(session, create=True)
    value = '%s %s' % (timeutils.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ'),
                       reason)
    _set_field(session, datastore_ref, key, value.strip())
    return value.strip()


def clear_drained(session, datastore_ref):
    """Remove the mark (the field set empty); a no-op when never defined."""
    key = _field_key(session, create=False)
    if key is None:
        return
    _set_field(session, datastore_ref, key, '')


def _set_field(session, entity, key, value):
    """SetField; an error after which the entity holds ``value`` is done.

    A lost answer's retry may be refused although vCenter set the field:
    the value is read again before the error is believed.
    """
    faults.unless_applied(
        lambda: session.invoke_api(session.vim, 'SetField', manager(session),
                                   entity=entity, key=key, value=value),
        lambda: _value_of(session, entity, key) == value,
        'Setting the drain mark of %s' % vim_util.get_moref_value(entity))


def _value_of(session, entity, key):
    values = session.invoke_api(vim_util, 'get_object_property', session.vim,
                                entity, 'customValue')
    for value in getattr(values, 'CustomFieldValue', None) or []:
        if str(value.key) == str(key):
            return getattr(value, 'value', '') or ''
    return ''
