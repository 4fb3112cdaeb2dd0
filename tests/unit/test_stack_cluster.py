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
"""The stack's cinder.conf for a clustered control plane (pure: files
only, no process started)."""

import configparser

from tools.stack import cinder_conf
from tools.stack import cinder_stack


VCENTER = {'host': '127.0.0.1', 'port': 8989, 'username': 'u',
           'password': 'p', 'ca_file': '/ca.pem'}


def _parse(text):
    # cinder.conf repeats vmware_cluster_name (a MultiStrOpt).
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(text)
    return parser


def test_render_database_coordination_and_overrides(tmp_path):
    text = cinder_conf.render(
        str(tmp_path), 8776, 'rabbit://guest:guest@127.0.0.1:5672/',
        VCENTER, ['gold'],
        database_url='mysql+pymysql://root@127.0.0.1:3306/cinder',
        coordination_url='etcd3+http://127.0.0.1:2379',
        overrides={'DEFAULT': {'report_interval': '2'},
                   'oslo_messaging_notifications': {'driver': 'noop'}})
    conf = _parse(text)
    assert conf['database']['connection'] == \
        'mysql+pymysql://root@127.0.0.1:3306/cinder'
    assert conf['coordination']['backend_url'] == \
        'etcd3+http://127.0.0.1:2379'
    assert conf['DEFAULT']['report_interval'] == '2'
    assert text.count('report_interval') == 1
    assert conf['oslo_messaging_notifications']['driver'] == 'noop'


def test_render_defaults_keep_sqlite_and_file_locks(tmp_path):
    conf = _parse(cinder_conf.render(
        str(tmp_path), 8776, 'rabbit://x', VCENTER, ['gold']))
    assert conf['database']['connection'].startswith('sqlite:///')
    assert not conf.has_section('coordination')
    assert conf['DEFAULT']['report_interval'] == '30'


def test_one_service_stack_is_not_clustered(tmp_path):
    stack = cinder_stack.CinderStack(str(tmp_path), VCENTER, ['gold'])
    assert stack.volume_hosts == {'cinder-volume': 'cinder-stack'}
    assert (stack.cluster, stack.etcd, stack.mariadb) == (None, None, None)
    assert stack.volume_backend() == 'cinder-stack@vmware'


def test_two_services_share_a_cluster_each_with_its_host(tmp_path):
    stack = cinder_stack.CinderStack(
        str(tmp_path), VCENTER, ['gold'], volume_services=2,
        database='sqlite', volume_defaults={'periodic_interval': '3'})
    assert stack.volume_hosts == {'cinder-volume-1': 'cinder-stack-1',
                                  'cinder-volume-2': 'cinder-stack-2'}
    assert stack.cluster == cinder_stack.CLUSTER
    assert stack.etcd is not None and stack.mariadb is None
    stack.api_port = 8776
    stack.broker.port = 5672
    stack.etcd.port = 2379
    stack._write_conf()

    conf = _parse(open(stack.conf_file).read())
    assert conf['coordination']['backend_url'] == \
        'etcd3+http://127.0.0.1:2379'
    for name, host in stack.volume_hosts.items():
        own = _parse(open(stack._service_conf(name)).read())['DEFAULT']
        assert dict(own) == {'host': host, 'cluster': 'cinder-cluster',
                             'periodic_interval': '3'}
    assert stack.volume_backend('cinder-volume-2') == 'cinder-stack-2@vmware'
