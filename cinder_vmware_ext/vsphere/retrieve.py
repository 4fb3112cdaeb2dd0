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
"""Property reads: one named round trip each, and the unwrappers of what
they answer (``ArrayOfX`` values, ``propSet`` lists)."""

from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import view_spec

_PAGE = 500


def items(value, item_type):
    """Items of a SOAP ``ArrayOfX`` value (empty when unset)."""
    if not value:
        return []
    if hasattr(value, item_type):
        value = getattr(value, item_type)
    return list(value) if isinstance(value, (list, tuple)) else [value]


def props(obj):
    """{property path: value} of an ObjectContent."""
    return {p.name: p.val for p in getattr(obj, 'propSet', None) or []}


def value_of(ref):
    """A managed object reference's value, or None for None."""
    return None if ref is None else vim_util.get_moref_value(ref)


def retrieve(session, properties):
    """{moref value: (moref, {property: value})} for the given types.

    :param properties: {managed object type: [property paths]}; all types
        are read in one PropertyCollector pass (paged) over a ContainerView,
        not one per type
    """
    vim = session.vim
    options = vim.client.factory.create('ns0:RetrieveOptions')
    options.maxObjects = _PAGE
    filter_spec, view = view_spec.inventory_filter_spec(session, properties)
    result = session.invoke_api(
        vim, 'RetrievePropertiesEx', vim.service_content.propertyCollector,
        specSet=[filter_spec], options=options)
    found = {}
    try:
        with vim_util.WithRetrieval(vim, result) as objects:
            for obj in objects:
                found[vim_util.get_moref_value(obj.obj)] = (obj.obj,
                                                            props(obj))
    finally:
        session.invoke_api(vim, 'DestroyView', view)
    return found


def datacenter_of(value, objects):
    """Find the Datacenter above an object in a retrieve() result.

    The Datacenter moref above the object ``value`` in a ``retrieve()``
    result that holds the parents' ``parent`` property (None if none).
    """
    while value in objects:
        ref, obj_props = objects[value]
        if ref._type == 'Datacenter':
            return ref
        parent = obj_props.get('parent')
        value = vim_util.get_moref_value(parent) if parent else None
    return None


# Managed entity types whose ``parent`` leads up towards a Datacenter.
_UP_TYPES = ('VirtualMachine', 'VirtualApp', 'ResourcePool', 'Folder',
             'ComputeResource', 'ClusterComputeResource', 'HostSystem',
             'Datastore', 'StoragePod', 'Network',
             'DistributedVirtualPortgroup')


def datacenter_above(session, ref):
    """Find the Datacenter above a managed entity in one pass.

    The Datacenter moref above the managed entity ``ref`` (None if
    none), in one PropertyCollector pass up its ``parent`` chain instead of
    a read per level.
    """
    if ref is None or ref._type == 'Datacenter':
        return ref
    vim = session.vim
    factory = vim.client.factory
    names = ['up-%s' % t for t in _UP_TYPES]
    traversals = [vim_util.build_traversal_spec(
        factory, name, type_, 'parent', False,
        [vim_util.build_selection_spec(factory, n) for n in names])
        for name, type_ in zip(names, _UP_TYPES)]
    filter_spec = vim_util.build_property_filter_spec(
        factory, [vim_util.build_property_spec(factory, 'Datacenter',
                                               ['name'])],
        [vim_util.build_object_spec(factory, ref, traversals)])
    options = factory.create('ns0:RetrieveOptions')
    result = session.invoke_api(
        vim, 'RetrievePropertiesEx', vim.service_content.propertyCollector,
        specSet=[filter_spec], options=options)
    found = []
    with vim_util.WithRetrieval(vim, result) as objects:
        found.extend(obj.obj for obj in objects)
    return found[0] if found else None


def of_objects(session, type_, refs, paths):
    """Read the properties of objects of one type in one pass.

    {moref value: (moref, {property: value})} of ``refs`` (all of one
    type) in one PropertyCollector pass (paged).
    """
    if not refs:
        return {}
    result = session.invoke_api(
        vim_util, 'get_properties_for_a_collection_of_objects', session.vim,
        type_, list(refs), list(paths))
    found = {}
    with vim_util.WithRetrieval(session.vim, result) as objects:
        for obj in objects:
            found[vim_util.get_moref_value(obj.obj)] = (obj.obj, props(obj))
    return found


def one(session, ref, path):
    """One property of one object."""
    return session.invoke_api(vim_util, 'get_object_property', session.vim,
                              ref, path)


def several(session, ref, paths):
    """{property: value} of one object (one round trip)."""
    return session.invoke_api(vim_util, 'get_object_properties_dict',
                              session.vim, ref, list(paths))


def refs(session, ref, path):
    """Return the references of an ArrayOfManagedObjectReference.

    The managed object references of an ``ArrayOfManagedObjectReference``
    property (a VM's ``datastore``, a datastore's ``vm``).
    """
    return items(one(session, ref, path), 'ManagedObjectReference')


def extra_config(session, vm):
    """{key: value} of a VM's ``config.extraConfig``."""
    return {o.key: o.value for o in items(one(session, vm,
                                              'config.extraConfig'),
                                          'OptionValue')}


def browser_of(session, datastore_value):
    """The HostDatastoreBrowser of a datastore (by moref value)."""
    return one(session, vim_util.get_moref(datastore_value, 'Datastore'),
               'browser')


def find_child(session, folder, name):
    """SearchIndex.FindChild: the entity ``name`` in ``folder``, or None."""
    return session.invoke_api(session.vim, 'FindChild',
                              session.vim.service_content.searchIndex,
                              entity=folder, name=name)
