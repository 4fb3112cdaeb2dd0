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
"""etc/cinder-vmware-ext.conf.sample is what oslo-config-generator makes
from our options now (regenerate it when an option changes)."""

import os

from oslo_config import cfg
from oslo_config import generator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GENERATOR_CONF = os.path.join(REPO, 'etc', 'oslo-config-generator',
                              'cinder-vmware-ext.conf')
SAMPLE = os.path.join(REPO, 'etc', 'cinder-vmware-ext.conf.sample')
REGENERATE = ('oslo-config-generator --config-file '
              'etc/oslo-config-generator/cinder-vmware-ext.conf')


def generate(output_file):
    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(['--config-file', GENERATOR_CONF, '--output-file', output_file],
         project='cinder-vmware-ext')
    generator.generate(conf)


def test_sample_config_is_current(tmp_path):
    fresh = tmp_path / 'sample.conf'
    generate(str(fresh))

    with open(SAMPLE) as f:
        committed = f.read()
    assert fresh.read_text() == committed, (
        'etc/cinder-vmware-ext.conf.sample is stale: run `%s` in the repo '
        'root and commit the result' % REGENERATE)


def test_sample_documents_every_option():
    from cinder_vmware_ext import opts
    with open(SAMPLE) as f:
        text = f.read()
    for opt in opts.vmware_ext_opts:
        assert '#%s = ' % opt.dest in text
