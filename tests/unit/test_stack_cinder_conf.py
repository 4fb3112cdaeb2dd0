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
"""The test stack's and demo's cinder.conf holds the vCenter password: it
is written readable by its owner only."""

import os
import stat

from tools.stack import cinder_conf


VCENTER = {'host': '127.0.0.1', 'port': 8989, 'username': 'admin',
           'password': 'stack-s3cret', 'ca_file': '/tmp/ca.pem'}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_conf_is_0600_whatever_the_umask(tmp_path):
    path = str(tmp_path / 'cinder.conf')
    old = os.umask(0)
    try:
        cinder_conf.write(path, '[vmware]\nvmware_host_password = x\n')
    finally:
        os.umask(old)
    assert mode(path) == 0o600


def test_rewritten_conf_is_narrowed_to_0600(tmp_path):
    path = tmp_path / 'cinder.conf'
    path.write_text('old\n')
    os.chmod(path, 0o644)
    text = ''.join('%s = %s\n' % item for item in
                   cinder_conf.backend_section(VCENTER, ['gold']))
    cinder_conf.write(str(path), text)
    assert mode(path) == 0o600
    assert path.read_text() == text
    assert 'vmware_host_password = stack-s3cret' in text
