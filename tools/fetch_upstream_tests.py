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
"""Fetch upstream Cinder's VMware driver unit tests into .cache/upstream/.

cinder's wheel ships its test tree without the VMware driver's test modules
(``cinder/tests/unit/volume/drivers/vmware/`` holds only ``__init__.py``),
so they are taken from the sdist of the installed cinder release, through
pip, into a git-ignored cache: nothing of upstream's is committed.
``tests/upstream/`` runs them against our driver class under stestr.

Usage: .venv/bin/python tools/fetch_upstream_tests.py  (idempotent; prints
the cache directory).  Exit code 1 with a one-line reason when the
installed cinder is not a release on PyPI (e.g. a dev version from git:
then point UPSTREAM_TESTS_DIR at that checkout's
cinder/tests/unit/volume/drivers/vmware instead).
"""

import importlib.metadata
import pathlib
import subprocess
import sys
import tarfile
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent
MEMBER = 'cinder/tests/unit/volume/drivers/vmware/'
NEEDED = ('fake.py', 'test_vmware_vmdk.py')


def cache_dir(version=None):
    version = version or importlib.metadata.version('cinder')
    return REPO / '.cache' / 'upstream' / ('cinder-%s' % version) / 'vmware'


def fetch():
    version = importlib.metadata.version('cinder')
    dest = cache_dir(version)
    if all((dest / name).is_file() for name in NEEDED):
        return dest
    if 'dev' in version:
        raise SystemExit('fetch_upstream_tests: cinder %s is not a release; '
                         'set UPSTREAM_TESTS_DIR to its checkout\'s %s'
                         % (version, MEMBER))
    with tempfile.TemporaryDirectory() as tmp:
        # pip prepares the sdist's metadata (about a minute, once).
        done = subprocess.run(
            [sys.executable, '-m', 'pip', 'download', '-q', '--no-deps',
             '--no-binary', ':all:', '--disable-pip-version-check',
             'cinder==%s' % version, '-d', tmp],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode:
            sys.stderr.write(done.stdout[-4000:])
            raise SystemExit('fetch_upstream_tests: pip could not download '
                             'cinder %s\'s sdist' % version)
        sdist = next(pathlib.Path(tmp).glob('cinder-*.tar.gz'))
        prefix = 'cinder-%s/%s' % (version, MEMBER)
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith(prefix):
                    name = member.name[len(prefix):]
                    if '/' not in name and name.endswith('.py'):
                        data = tar.extractfile(member).read()
                        (dest / name).write_bytes(data)
    missing = [n for n in NEEDED if not (dest / n).is_file()]
    if missing:
        raise SystemExit('fetch_upstream_tests: cinder %s\'s sdist has no %s'
                         % (version, ', '.join(missing)))
    return dest


if __name__ == '__main__':
    print(fetch())
