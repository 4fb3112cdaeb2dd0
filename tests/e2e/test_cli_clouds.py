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
"""The clouds.yaml path, as an operator has it: ``openstack volume ...`` and
``cinder-vmware ...`` reach the e2e stack with nothing but ``OS_CLOUD`` and
a clouds.yaml in openstacksdk's search path (the current directory); no
other ``OS_*`` or ``CINDER_*`` variable is set. The cloud uses
keystoneauth's ``admin_token`` plugin (Cinder's noauth takes
``user:project`` as the token): cinderclient's ``noauth`` plugin, which the
``cinder`` CLI and ``cinder-vmware`` accept, gives openstacksdk no endpoint
data ("The block-storage service ... does not have any supported
versions").
"""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from tests.e2e import waiting

BIN = os.path.dirname(sys.executable)
LOOSE_DISK = ('nfs-shared-01', 'orphans/data 1.vmdk')


@pytest.fixture
def operator(stack, tmp_path):
    """Give a runner of the CLI configured only by clouds.yaml.

    run(program, *args) -> parsed JSON stdout, from a directory holding
    only clouds.yaml, with OS_CLOUD the only OS_* variable.
    """
    from tools.stack import cinder_stack
    # keystoneauth's admin_token plugin (a fixed token and endpoint) for
    # Cinder's noauth: cinderclient's own noauth plugin has no discovery,
    # which openstackclient's volume commands (openstacksdk) need.
    (tmp_path / 'clouds.yaml').write_text(
        'clouds:\n'
        '  e2e:\n'
        '    auth_type: admin_token\n'
        '    auth:\n'
        '      endpoint: %s/\n'
        '      token: "%s:%s"\n'
        % (stack.endpoint, cinder_stack.USER_ID, cinder_stack.PROJECT_ID))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('OS_', 'CINDER_'))}
    env['OS_CLOUD'] = 'e2e'
    env.setdefault('PYTHONWARNINGS', 'ignore')

    def run(program, *args, parse=True):
        started = time.monotonic()
        done = subprocess.run([os.path.join(BIN, program)] + list(args),
                              capture_output=True, text=True,
                              cwd=str(tmp_path), env=env, timeout=300)
        sys.stderr.write('%s %s: %.1f s\n' % (
            program, ' '.join(args[:3]), time.monotonic() - started))
        assert done.returncode == 0, (program, args, done.stderr)
        return json.loads(done.stdout) if parse else done.stdout

    assert sorted(k for k in env if k.startswith('OS_')) == ['OS_CLOUD']
    return run


def _delete_if_there(cinder, volume):
    from cinderclient import exceptions
    try:
        cinder.volumes.delete(volume)
    except exceptions.NotFound:
        return
    waiting.wait_deleted(cinder.volumes, volume)


def _discovered(rows):
    return {(r['Datastore'], r['Path']): r for r in rows if not r['VM']}


def test_openstack_and_cinder_vmware_with_only_os_cloud(
        operator, stack, cinder, volume_type, undo):
    vtype = volume_type('gold')
    name = 'e2e-osc-%s' % uuid.uuid4().hex[:8]
    created = operator('openstack', 'volume', 'create', '--size', '1',
                       '--type', vtype.name, name, '-f', 'json')
    volume = cinder.volumes.get(created['id'])
    undo(lambda: _delete_if_there(cinder, volume))
    waiting.wait_status(cinder.volumes, volume, 'available')

    shown = operator('openstack', 'volume', 'show', volume.id, '-f', 'json')
    assert (shown['name'], shown['status'], shown['size'], shown['type']) \
        == (name, 'available', 1, vtype.name)
    assert shown['os-vol-host-attr:host'].endswith('@vmware#gold')

    # Our tool on the same cloud: the loose disks Cinder lists as
    # manageable.  (`openstack vmware ...` takes the same path through
    # openstackclient's session; left out to keep CI time down.)
    config = ['--config-file', stack.conf_file, '--backend', 'vmware']
    discovered = _discovered(operator(
        'cinder-vmware', *config, 'takeover', 'discover', '-f', 'json'))
    assert LOOSE_DISK in discovered
    assert discovered[LOOSE_DISK]['Safe'] is True

    # Not `openstack volume delete`: it asks openstacksdk for the
    # microversion, whose discovery GET of /v3/ goes out without a token
    # and gets the 204 that Cinder's noauth middleware answers instead of
    # the versions document (a noauth cinder-api's limit; keystone
    # deployments are not affected). The undo step deletes it.
