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
"""What a volume's consumer does, without Nova or os-brick: the first use
of a lazily created volume makes its backing."""

from tests.e2e import waiting

# A connector naming no instance: initialize_connection makes the backing
# (when there is none yet) and connects nothing.
CONNECTOR = {'host': 'e2e-client', 'ip': '127.0.0.1',
             'platform': 'x86_64', 'os_type': 'linux'}


def first_use(cinder, volume):
    """Attach a volume and detach it again (its first use).

    An attachment (reserve + initialize_connection), then its removal;
    returns the volume once available again.
    """
    attachment = cinder.attachments.create(volume.id, CONNECTOR)
    cinder.attachments.delete(attachment['id'])
    return waiting.wait_status(cinder.volumes, volume, 'available')
