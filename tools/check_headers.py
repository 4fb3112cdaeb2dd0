#!/usr/bin/env python3
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
"""Name every tracked .py file without the Apache-2.0 header (as Cinder's
files have it); --fix adds it (after a shebang line). Empty files are
left alone (hacking's H104 refuses a file of comments only).

    tools/check_headers.py [--fix] [FILE...]
"""

import subprocess
import sys


def _own_header():
    """Return this file's own header, the one every file gets.

    This file's own header (the comment block after the shebang): the
    text every file gets.
    """
    with open(__file__, encoding='utf-8') as f:
        lines = f.read().splitlines(True)[1:]
    block = []
    for line in lines:
        if not line.startswith('#'):
            break
        block.append(line)
    return ''.join(block)


HEADER = _own_header()
MARK = 'Licensed under the Apache ' + 'License, Version 2.0'


def python_files():
    out = subprocess.run(['git', 'ls-files', '*.py'], capture_output=True,
                         text=True, check=True).stdout
    return [p for p in out.splitlines() if p]


def lacks_header(text):
    return bool(text.strip()) and MARK not in '\n'.join(
        text.splitlines()[:20])


def with_header(text):
    lines = text.splitlines(True)
    if lines and lines[0].startswith('#!'):
        return lines[0] + HEADER + ''.join(lines[1:])
    return HEADER + text


def main(argv):
    fix = '--fix' in argv
    paths = [a for a in argv if a != '--fix'] or python_files()
    missing = []
    for path in paths:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if not lacks_header(text):
            continue
        if fix:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(with_header(text))
        else:
            missing.append(path)
    for path in missing:
        print('%s: no Apache-2.0 licence header' % path)
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
