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
"""Child processes of the stack: started in their own session, logged to a
file, waited for, and stopped by PID (their process group)."""

import os
import signal
import socket
import subprocess
import time


class StackError(RuntimeError):
    """Report a part of the stack that failed to start.

    A part of the stack failed to start; the message says which and
    ends with the tail of its log.
    """


def free_port():
    """A TCP port free on loopback now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def port_open(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path, lines=40):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return '(no log at %s)' % path


class Process(object):
    """One long-running program with its output in ``log_file``."""

    def __init__(self, name, argv, log_file, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log_file = log_file
        self.env = env
        self.cwd = cwd
        self.popen = None
        self.pid = None

    def start(self):
        with open(self.log_file, 'ab') as log:
            # A session of its own: stopping its group also stops what the
            # program forks (rabbitmq's shell wrapper runs erl as a child).
            self.popen = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd,
                start_new_session=True)
        self.pid = self.popen.pid
        return self

    def running(self):
        return self.popen is None or self.popen.poll() is None

    def check_running(self, log_file=None):
        if not self.running():
            raise StackError('%s exited with code %s during start-up; last '
                             'lines of %s:\n%s' % (
                                 self.name, self.popen.returncode,
                                 log_file or self.log_file,
                                 tail(log_file or self.log_file)))

    def stop(self, timeout=20):
        if self.pid is not None:
            stop_group(self.pid, timeout)
            if self.popen is not None:
                self.popen.poll()


def stop_group(pid, timeout=20):
    """Stop a process group, killing it after a timeout.

    SIGTERM the process group led by ``pid``, SIGKILL it after
    ``timeout`` seconds; returns when the leader is gone.
    """
    if not _signal_group(pid, signal.SIGTERM):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        time.sleep(0.1)
    # Kill what is left of the group (the leader or its children).
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def kill_group(pid, timeout=10):
    """Kill a process group as a crash would.

    SIGKILL the process group led by ``pid`` (a crash, not a stop);
    returns when the leader is gone.
    """
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
        return True
    except ProcessLookupError:
        return False


def _alive(pid):
    try:
        # Reap it if it is our child, so that it does not linger as a zombie.
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(what, ready, timeout, processes=(), interval=0.25):
    """Poll ``ready()`` until it is true.

    Poll ``ready()`` until it is true; fail clearly on timeout or when
    one of ``processes`` (``(Process, log_file)`` pairs) died meanwhile.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        for proc, log_file in processes:
            proc.check_running(log_file)
        try:
            result = ready()
            if result:
                return result
        except StackError:
            raise
        except Exception as err:  # noqa: B902 - report the last one
            last_error = err
        if time.monotonic() > deadline:
            logs = ''.join('\n--- %s (%s):\n%s' % (p.name, f, tail(f, 20))
                           for p, f in processes)
            raise StackError('%s not ready after %d s%s%s' % (
                what, timeout,
                ' (last error: %s)' % last_error if last_error else '', logs))
        time.sleep(interval)
