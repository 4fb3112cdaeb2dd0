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
"""A PropertyFilterSpec over the whole inventory through a ContainerView.

Also the private PropertyCollectors the change feeds read it through
(``open_collector``, ``close_collector``): the inventory cache, the
takeover listing's change feed and its object mirror.
"""

from oslo_log import log as logging
from oslo_vmware import vim_util

LOG = logging.getLogger(__name__)


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


def open_collector(session, properties, watch=None):
    """A private PropertyCollector with one filter over ``properties``.

    Returns (the collector's moref value, the filter's ContainerView).
    ``watch(filter_spec)``, when given, adds to the filter before it is
    created.  Its updates come whole (``partialUpdates=False``).
    """
    vim = session.vim
    collector = session.invoke_api(vim, 'CreatePropertyCollector',
                                   vim.service_content.propertyCollector)
    filter_spec, view = inventory_filter_spec(session, properties)
    if watch is not None:
        watch(filter_spec)
    session.invoke_api(vim, 'CreateFilter', collector, spec=filter_spec,
                       partialUpdates=False)
    return vim_util.get_moref_value(collector), view


def close_collector(session, collector, view=None):
    """Destroy a collector of ``open_collector`` (and the view, if given).

    Best effort: the session may be gone, and the collector with it.
    """
    try:
        if collector is not None:
            session.invoke_api(
                session.vim, 'DestroyPropertyCollector',
                vim_util.get_moref(collector, 'PropertyCollector'))
        if view is not None:
            session.invoke_api(session.vim, 'DestroyView', view)
    except Exception:  # noqa: best effort, the session may be gone
        LOG.debug('Could not destroy the property collector %s.', collector)
