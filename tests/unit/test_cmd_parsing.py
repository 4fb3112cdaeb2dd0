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
"""The commands' declared arguments and the global options' table."""

import argparse
import types

import pytest

from cinder_vmware_ext.cmd import app_options
from cinder_vmware_ext.cmd import cinder_api
from cinder_vmware_ext.cmd import parsing


class _App(object):
    stdin = stdout = stderr = None
    options = None


class _Command(parsing.Command):
    """A command with a positional, a group and --dry-run."""

    arguments = (
        parsing.Arg('first', metavar='FIRST'),
        parsing.Arg('second', metavar='SECOND'),
        parsing.OneOf(parsing.Arg('--left', action='store_true'),
                      parsing.Arg('--right', action='store_true'),
                      required=True),
        parsing.DRY_RUN,
    )

    def take_action(self, args):
        return 0


def _parser(cls=_Command):
    return cls(_App(), None).get_parser('test')


def test_arguments_are_added_in_their_order():
    args = _parser().parse_args(['a', 'b', '--left'])
    assert (args.first, args.second, args.left, args.right,
            args.dry_run) == ('a', 'b', True, False, False)


@pytest.mark.parametrize('argv, said', [
    (['a', 'b'], 'one of the arguments --left --right is required'),
    (['a', 'b', '--left', '--right'], 'not allowed with argument --left'),
])
def test_a_required_group_takes_exactly_one(argv, said, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)
    assert said in capsys.readouterr().err


def test_but_changes_a_copy():
    quieter = parsing.DRY_RUN.but(help='say less')
    assert quieter.names == parsing.DRY_RUN.names
    assert quieter.options == {'action': 'store_true', 'help': 'say less'}
    assert parsing.DRY_RUN.options['help'] == (
        'say what would be done; change nothing')


def test_one_of_takes_only_required():
    with pytest.raises(TypeError, match='only required='):
        parsing.OneOf(parsing.DRY_RUN, title='x')


def test_concurrency_says_its_default():
    parser = argparse.ArgumentParser()
    parsing.concurrency(3, 'things done').add_to(parser)
    assert parser.parse_args([]).concurrency == 3
    assert parser.parse_args(['--concurrency', '5']).concurrency == 5
    assert 'things done at once (default 3)' in parser.format_help()


def test_env_notes_only_where_the_env_is_read(monkeypatch):
    option = app_options.BACKEND[0]
    assert option.help(False) == (
        'cinder.conf holding the backend section (repeatable; default '
        '/etc/cinder/cinder.conf).')
    assert option.help(True) == (
        'cinder.conf holding the backend section (repeatable; env '
        'CINDER_VMWARE_CONFIG_FILE; default /etc/cinder/cinder.conf).')


@pytest.mark.parametrize('value, expected', [(None, []), ('/x.conf',
                                                          ['/x.conf'])])
def test_a_repeatable_option_from_the_env_is_a_list(monkeypatch, value,
                                                    expected):
    if value is None:
        monkeypatch.delenv('CINDER_VMWARE_CONFIG_FILE', raising=False)
    else:
        monkeypatch.setenv('CINDER_VMWARE_CONFIG_FILE', value)
    with_env, without = argparse.ArgumentParser(), argparse.ArgumentParser()
    app_options.BACKEND[0].add_to(with_env, '--vmware-config-file',
                                  with_env=True)
    app_options.BACKEND[0].add_to(without)
    assert with_env.parse_args([]).config_file == expected
    assert without.parse_args([]).config_file == []
    assert without.parse_args(['--config-file', 'a', '--config-file',
                               'b']).config_file == ['a', 'b']


def test_the_app_client_is_openstackclients_under_openstack():
    ours = object()
    app = types.SimpleNamespace(client_manager=types.SimpleNamespace(
        vmware=types.SimpleNamespace(cinder=ours)), options=None)
    assert cinder_api.app_client(app) is ours
