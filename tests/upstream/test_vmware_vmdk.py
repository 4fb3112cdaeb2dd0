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
"""Upstream Cinder's VMDK driver unit tests, run against our driver class.

The tests are cinder's own ``test_vmware_vmdk.py`` (fetched from the sdist
of the installed cinder into the git-ignored ``.cache/upstream/`` by
``tools/fetch_upstream_tests.py``, unless the installed cinder ships them;
``UPSTREAM_TESTS_DIR`` overrides the cache directory).  They are imported
with ``vmdk.VMwareVcVmdkDriver`` bound to our class, so their
``mock.patch.object(VMDK_DRIVER, ...)`` decorators patch ours, and every
test builds our driver.  Run them with stestr (cinder's test base needs
it): ``tox -e py3`` or ``tools/run-tests``.

Tests that fail because we deliberately differ from upstream are listed,
each with its reason, in ``expected-failures.txt`` beside this file: they
must fail (one that passes fails the run, so the list stays true), and
every other test must pass.
"""

import functools
import importlib
import os
import pathlib

from cinder.tests.unit.volume.drivers import vmware as upstream_package
from cinder.volume.drivers.vmware import vmdk

from cinder_vmware_ext import driver

HERE = pathlib.Path(__file__).resolve().parent
EXPECTED_FAILURES = HERE / 'expected-failures.txt'
UPSTREAM_MODULE = 'cinder.tests.unit.volume.drivers.vmware.test_vmware_vmdk'


def _tests_dir():
    if os.environ.get('UPSTREAM_TESTS_DIR'):
        return pathlib.Path(os.environ['UPSTREAM_TESTS_DIR'])
    import importlib.metadata
    version = importlib.metadata.version('cinder')
    return (HERE.parent.parent / '.cache' / 'upstream' /
            ('cinder-%s' % version) / 'vmware')


def _import_upstream():
    installed = [p for p in upstream_package.__path__
                 if os.path.isfile(os.path.join(p, 'test_vmware_vmdk.py'))]
    where = pathlib.Path(installed[0]) if installed else _tests_dir()
    if not (where / 'test_vmware_vmdk.py').is_file():
        raise ImportError('upstream test_vmware_vmdk.py not found in %s: run '
                          'tools/setup-env (or tools/fetch_upstream_tests.py)'
                          % where)
    if str(where) not in upstream_package.__path__:
        upstream_package.__path__.append(str(where))
    # Bound to ours only while the module's class bodies run (VMDK_DRIVER
    # and the patch decorators); upstream's own code calls
    # super(VMwareVcVmdkDriver, self), which needs its name back.
    original = vmdk.VMwareVcVmdkDriver
    vmdk.VMwareVcVmdkDriver = driver.VMwareVcVmdkExtDriver
    try:
        return importlib.import_module(UPSTREAM_MODULE)
    finally:
        vmdk.VMwareVcVmdkDriver = original


def read_expected_failures(path=EXPECTED_FAILURES):
    """{test method name: reason} from ``name: reason`` lines."""
    expected = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        name, _sep, reason = line.partition(':')
        expected[name.strip()] = reason.strip()
    return expected


def _must_fail(test, reason):
    @functools.wraps(test)
    def wrapper(self, *args, **kwargs):
        try:
            test(self, *args, **kwargs)
        except Exception:
            self.skipTest('expected to fail: %s' % reason)
        self.fail('%s passes but is listed in %s (%s): remove it from the '
                  'list' % (test.__name__, EXPECTED_FAILURES.name, reason))
    return wrapper


upstream = _import_upstream()
EXPECTED = read_expected_failures()


class VMwareVcVmdkExtDriverTestCase(upstream.VMwareVcVmdkDriverTestCase):
    """Upstream's driver tests with our driver under test."""

    def setUp(self):
        super(VMwareVcVmdkExtDriverTestCase, self).setUp()
        self._driver = driver.VMwareVcVmdkExtDriver(
            configuration=self._config)


class ImageDiskTypeTest(upstream.ImageDiskTypeTest):
    """Upstream's image disk type tests (module functions, no driver)."""


for _name, _reason in EXPECTED.items():
    if hasattr(VMwareVcVmdkExtDriverTestCase, _name):
        setattr(VMwareVcVmdkExtDriverTestCase, _name,
                _must_fail(getattr(VMwareVcVmdkExtDriverTestCase, _name),
                           _reason))


class ExpectedFailuresListTest(upstream.test.TestCase):
    """The list names upstream tests that exist, each with a reason."""

    def test_every_listed_test_exists(self):
        missing = [name for name in EXPECTED
                   if not hasattr(VMwareVcVmdkExtDriverTestCase, name)]
        self.assertEqual([], missing,
                         'not in upstream\'s tests: remove from %s'
                         % EXPECTED_FAILURES.name)

    def test_every_listed_test_has_a_reason(self):
        self.assertEqual([], [n for n, r in EXPECTED.items() if not r])
