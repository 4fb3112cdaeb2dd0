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
"""A PropertyFilterSpec over the whole inventory through a ContainerView."""

from oslo_vmware import vim_util


def inventory_filter_spec(session, properties):
    """(filter spec, view) reading ``properties`` of every object of a type.

    :param properties: {managed object type: [property paths]}
    The caller owns the view (DestroyView when done with a one-off read).
    """
    vim = session.vim
    factory = vim.client.factory
    content = vim.service_content
    view = session.invoke_api(
        vim, 'CreateContainerView', content.viewManager,
        container=content.rootFolder, type=sorted(properties),
        recursive=True)
    traversal = factory.create('ns0:TraversalSpec')
    traversal.name = 'view'
    traversal.type = 'ContainerView'
    traversal.path = 'view'
    traversal.skip = False
    object_spec = factory.create('ns0:ObjectSpec')
    object_spec.obj = view
    object_spec.skip = True
    object_spec.selectSet = [traversal]
    property_specs = [
        vim_util.build_property_spec(factory, type_=type_,
                                     properties_to_collect=paths)
        for type_, paths in sorted(properties.items())]
    return vim_util.build_property_filter_spec(
        factory, property_specs, [object_spec]), view
