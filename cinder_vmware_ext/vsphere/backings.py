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
"""Names of the virtual machines in vCenter, in one paged retrieval."""

from oslo_vmware import vim_util


def names(session):
    """Every VirtualMachine's name (backings are named after volumes)."""
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'VirtualMachine', 1000, ['name'])
    found = set()
    with vim_util.WithRetrieval(session.vim, result) as objects:
        for obj in objects:
            for prop in getattr(obj, 'propSet', None) or []:
                found.add(prop.val)
    return found
