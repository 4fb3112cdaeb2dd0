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
"""cinder-vmware as openstackclient users expect it (issue 16): the osc
plugin's command group built from the cinder_vmware.cli entry points, help
text on every option, plain top-level help, pbr's --version, clouds.yaml
through openstacksdk's loader, --os-region-name and the volume API
version."""

import argparse
from importlib import metadata
import os
import subprocess
import sys

import pytest

import cinder_vmware_ext
from cinder_vmware_ext.cmd import cinder_api
from cinder_vmware_ext.cmd import main
from cinder_vmware_ext.cmd import osc_plugin


def test_setup_hook_maps_every_cli_entry():
    config = {'entry_points': {'cinder_vmware.cli': '\n'.join([
        '',
        'takeover_discover = cinder_vmware_ext.cmd.takeover:Discover',
        '# a comment',
        'datastore_list=cinder_vmware_ext.cmd.datastore:List'])}}
    osc_plugin.setup_hook(config)
    lines = [line for line in
             config['entry_points']['openstack.vmware.v1'].splitlines()
             if line]
    assert lines == [
        'vmware_takeover_discover = cinder_vmware_ext.cmd.takeover:Discover',
        'vmware_datastore_list = cinder_vmware_ext.cmd.datastore:List']


def test_setup_hook_refuses_a_broken_line():
    with pytest.raises(ValueError, match='without "="'):
        osc_plugin.setup_hook({'entry_points': {
            'cinder_vmware.cli': 'takeover_discover'}})


def test_installed_osc_group_is_the_cli_group():
    cli = {e.name: e.value
           for e in metadata.entry_points(group='cinder_vmware.cli')}
    osc = {e.name: e.value
           for e in metadata.entry_points(group='openstack.vmware.v1')}
    assert cli, 'package metadata not built (tools/setup-env)'
    assert osc == {'vmware_' + name: value for name, value in cli.items()}
    plugins = [e.value for e in
               metadata.entry_points(group='openstack.cli.extension')
               if e.name == 'vmware']
    assert plugins == ['cinder_vmware_ext.cmd.osc_plugin']


def _actions_without_help(parser):
    # An option hidden on purpose (help=SUPPRESS, e.g. cliff's shell
    # formatter's --variable) is not one without help.
    return [a.option_strings or [a.dest] for a in parser._actions
            if not a.help and not isinstance(a, argparse._HelpAction)]


def test_every_option_has_help():
    app = main.CinderVmwareApp()
    parser = app.build_option_parser(main.DESCRIPTION, '1')
    assert _actions_without_help(parser) == []
    osc_parser = osc_plugin.build_option_parser(argparse.ArgumentParser())
    assert _actions_without_help(osc_parser) == []
    names = sorted(app.command_manager.commands)
    assert 'takeover discover' in names
    for name in names:
        factory = app.command_manager.commands[name].load()
        cmd = factory(app, None)
        assert _actions_without_help(cmd.get_parser(name)) == [], name


CLI = os.path.join(os.path.dirname(sys.executable), 'cinder-vmware')


def _cli(*argv):
    return subprocess.run([CLI] + list(argv), capture_output=True, text=True,
                          timeout=300)


def test_help_is_plain_and_version_is_pbrs():
    helped, version = _cli('--help'), _cli('--version')
    assert helped.returncode == 0, helped.stderr
    assert '``' not in helped.stdout
    assert main.DESCRIPTION.split()[0] in helped.stdout
    assert 'takeover discover' in helped.stdout
    # Nothing on stderr: no library's debug records (stevedore's "found
    # extension" through oslo.log's pre-setup handler) nor warnings.
    assert helped.stderr == ''
    assert version.returncode == 0
    expected = metadata.version('cinder-vmware-ext')
    assert (version.stdout + version.stderr).split() == [
        'cinder-vmware', expected]
    assert cinder_vmware_ext.__version__ == expected != '0'


@pytest.mark.parametrize('asked, used', [
    (None, '3.8'), ('', '3.8'), ('3', '3.8'), ('latest', '3.8'),
    ('3.0', '3.0'), ('3.40', '3.40'), (3.5, '3.5')])
def test_volume_api_version(asked, used):
    assert cinder_api.volume_api_version(asked) == used


def test_volume_api_version_2_is_refused():
    with pytest.raises(cinder_api.CloudError, match='only 3.x'):
        cinder_api.volume_api_version('2')


@pytest.fixture
def clouds(tmp_path, monkeypatch):
    path = tmp_path / 'clouds.yaml'
    path.write_text(
        'clouds:\n'
        '  lab:\n'
        '    auth_type: noauth\n'
        '    auth: {user_id: admin, project_id: 0123abcd,\n'
        '           endpoint: "http://127.0.0.1:1/v3"}\n'
        '    regions: [RegionTwo, RegionThree]\n'
        '    volume_api_version: "3.40"\n'
        '  plain:\n'
        '    auth_type: noauth\n'
        '    auth: {user_id: admin, project_id: 0123abcd,\n'
        '           endpoint: "http://127.0.0.1:1/v3"}\n')
    for name in ('OS_CLOUD', 'OS_REGION_NAME', 'OS_VOLUME_API_VERSION'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(path))
    return path


def _options(*argv):
    app = main.CinderVmwareApp()
    parser = app.build_option_parser(main.DESCRIPTION, '1')
    return parser.parse_known_args(list(argv))[0]


def test_cloud_of_clouds_yaml(clouds):
    cinder = cinder_api.client(_options('--os-cloud', 'lab'))
    assert cinder.api_version.get_string() == '3.40'
    assert cinder.client.region_name == 'RegionTwo'
    # The session is openstacksdk's, with cinderclient's noauth plugin.
    assert type(cinder.client.session.auth).__name__ == 'CinderNoAuthPlugin'


def test_region_and_version_flags_win_over_the_cloud(clouds, monkeypatch):
    cinder = cinder_api.client(_options(
        '--os-cloud', 'lab', '--os-region-name', 'RegionThree',
        '--os-volume-api-version', '3.12'))
    assert cinder.api_version.get_string() == '3.12'
    assert cinder.client.region_name == 'RegionThree'
    monkeypatch.setenv('OS_CLOUD', 'plain')
    monkeypatch.setenv('OS_VOLUME_API_VERSION', '3.20')
    monkeypatch.setenv('OS_REGION_NAME', 'RegionFour')
    cinder = cinder_api.client(_options())
    assert cinder.api_version.get_string() == '3.20'
    assert cinder.client.region_name == 'RegionFour'


@pytest.mark.parametrize('argv, words', [
    (('--os-cloud', 'nowhere'), ("'nowhere'", 'not found')),
    (('--os-cloud', 'lab', '--os-region-name', 'RegionFive'),
     ('RegionFive', 'RegionTwo,RegionThree')),
])
def test_bad_cloud_or_region_is_one_line(clouds, argv, words):
    with pytest.raises(cinder_api.CloudError) as err:
        cinder_api.client(_options(*argv))
    text = str(err.value)
    assert str(clouds) in text
    for word in words:
        assert word in text
    assert '\n' not in text
