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
"""Run tox environments' commands (tox.ini) inside the repo's one .venv.

tools/run-tests uses it so that CI runs exactly what ``tox -e NAME`` runs
without building one virtualenv per environment: tox.ini stays the only
place the commands are written.  Each environment's ``setenv`` applies,
``{toxinidir}``, ``{envpython}`` and ``{posargs}`` are substituted, and its
commands run in order until one fails.

Usage: python tools/tox_env.py NAME... (exit code: the number of
environments that failed; each one's time is printed).
"""

import configparser
import os
import pathlib
import shlex
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
VENV_BIN = REPO / '.venv' / 'bin'


def _section(ini, name):
    return 'testenv:%s' % name if ini.has_section('testenv:%s' % name) \
        else 'testenv'


def _lines(ini, section, key):
    value = ini.get(section, key, fallback=None)
    if value is None:
        value = ini.get('testenv', key, fallback='')
    return [line.strip() for line in value.splitlines() if line.strip()]


def _substitute(text):
    return (text.replace('{toxinidir}', str(REPO))
            .replace('{envpython}', str(VENV_BIN / 'python'))
            .replace('{posargs}', ''))


def commands(name, ini=None):
    """(environment variables, [argv, ...]) of tox environment ``name``."""
    if ini is None:
        ini = configparser.ConfigParser(interpolation=None)
        ini.read(REPO / 'tox.ini')
    if not ini.has_section('testenv:%s' % name):
        raise SystemExit('tox_env: no [testenv:%s] in tox.ini' % name)
    section = _section(ini, name)
    env = {}
    for line in _lines(ini, section, 'setenv'):
        key, _sep, value = line.partition('=')
        env[key.strip()] = _substitute(value.strip())
    argvs = [shlex.split(_substitute(line))
             for line in _lines(ini, section, 'commands')]
    return env, argvs


def run(name):
    env_vars, argvs = commands(name)
    env = dict(os.environ, **env_vars)
    env['PATH'] = '%s:%s' % (VENV_BIN, env.get('PATH', ''))
    env['VIRTUAL_ENV'] = str(VENV_BIN.parent)
    for argv in argvs:
        print('tox_env[%s]: %s' % (name, ' '.join(argv)), flush=True)
        if subprocess.run(argv, cwd=REPO, env=env).returncode:
            return False
    return True


def main(names):
    failed = 0
    for name in names:
        start = time.monotonic()
        ok = run(name)
        failed += not ok
        print('tox_env[%s]: %s in %.0f s' % (
            name, 'passed' if ok else 'FAILED', time.monotonic() - start),
            flush=True)
    return failed


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
